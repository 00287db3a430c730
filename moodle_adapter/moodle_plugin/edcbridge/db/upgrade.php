<?php
// This file is part of local_edcbridge, the Moodle side of EDC Bridge.
//
// local_edcbridge is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// local_edcbridge is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <http://www.gnu.org/licenses/>.

/**
 * Upgrade steps of local_edcbridge.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

/**
 * Upgrade from an earlier version.
 *
 * 2026120100: the outbox and course tables; the API key moves to an encrypted setting; ad-hoc
 * send tasks still queued by the previous version become outbox rows, so none is lost.
 *
 * @param int $oldversion the version upgraded from
 * @return bool
 */
function xmldb_local_edcbridge_upgrade($oldversion) {
    global $DB;
    $dbman = $DB->get_manager();

    if ($oldversion < 2026120100) {
        $table = new xmldb_table('local_edcbridge_outbox');
        $table->add_field('id', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, XMLDB_SEQUENCE, null);
        $table->add_field('courseid', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('userid', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('timecompleted', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('state', XMLDB_TYPE_CHAR, '20', null, XMLDB_NOTNULL, null, 'pending');
        $table->add_field('attempts', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('nextattempt', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('lasterror', XMLDB_TYPE_TEXT, null, null, null, null, null);
        $table->add_field('problem', XMLDB_TYPE_TEXT, null, null, null, null, null);
        $table->add_field('credentialid', XMLDB_TYPE_CHAR, '64', null, null, null, null);
        $table->add_field('timecreated', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('timemodified', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_key('primary', XMLDB_KEY_PRIMARY, ['id']);
        $table->add_key('userid', XMLDB_KEY_FOREIGN, ['userid'], 'user', ['id']);
        $table->add_index('courseuser', XMLDB_INDEX_UNIQUE, ['courseid', 'userid']);
        $table->add_index('statenext', XMLDB_INDEX_NOTUNIQUE, ['state', 'nextattempt']);
        if (!$dbman->table_exists($table)) {
            $dbman->create_table($table);
        }

        $table = new xmldb_table('local_edcbridge_course');
        $table->add_field('id', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, XMLDB_SEQUENCE, null);
        $table->add_field('courseid', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('templatehash', XMLDB_TYPE_CHAR, '64', null, XMLDB_NOTNULL, null, '');
        $table->add_field('timesent', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_key('primary', XMLDB_KEY_PRIMARY, ['id']);
        $table->add_index('courseid', XMLDB_INDEX_UNIQUE, ['courseid']);
        if (!$dbman->table_exists($table)) {
            $dbman->create_table($table);
        }

        // The API key was stored in clear (admin_setting_configpasswordunmask 'secret').
        $secret = get_config('local_edcbridge', 'secret');
        if ($secret !== false && $secret !== '' && !get_config('local_edcbridge', 'apikey')) {
            set_config('apikey', \core\encryption::encrypt($secret), 'local_edcbridge');
        }
        unset_config('secret', 'local_edcbridge');

        // Send tasks the previous version queued: each becomes an outbox row.
        $now = time();
        $tasks = $DB->get_records('task_adhoc', ['classname' => '\\local_edcbridge\\task\\send_completion']);
        foreach ($tasks as $task) {
            $data = json_decode((string) $task->customdata);
            if (!empty($data->courseid) && !empty($data->userid)
                    && !$DB->record_exists('local_edcbridge_outbox', ['courseid' => $data->courseid, 'userid' => $data->userid])) {
                $completed = (int) $DB->get_field('course_completions', 'timecompleted',
                    ['course' => $data->courseid, 'userid' => $data->userid]);
                $DB->insert_record('local_edcbridge_outbox', (object) [
                    'courseid' => $data->courseid, 'userid' => $data->userid, 'timecompleted' => $completed,
                    'state' => 'pending', 'attempts' => 0, 'nextattempt' => 0, 'timecreated' => $now,
                    'timemodified' => $now]);
            }
            $DB->delete_records('task_adhoc', ['id' => $task->id]);
        }
        if (!get_config('local_edcbridge', 'sweepfrom')) {
            set_config('sweepfrom', $now, 'local_edcbridge');
        }
        upgrade_plugin_savepoint(true, 2026120100, 'local', 'edcbridge');
    }
    return true;
}
