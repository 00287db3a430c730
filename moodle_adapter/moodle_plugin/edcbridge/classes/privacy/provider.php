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

namespace local_edcbridge\privacy;

use core_privacy\local\metadata\collection;
use core_privacy\local\request\approved_contextlist;
use core_privacy\local\request\approved_userlist;
use core_privacy\local\request\contextlist;
use core_privacy\local\request\transform;
use core_privacy\local\request\userlist;
use core_privacy\local\request\writer;

/**
 * Privacy provider: the outbox holds one row per completed course and learner, and completions
 * are sent to the institution's EDC Bridge service (an external location).
 *
 * Export and deletion cover the outbox. What was already sent lives in EDC Bridge, outside
 * Moodle: its administrators answer requests about issued credentials (the metadata says so).
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class provider implements
        \core_privacy\local\metadata\provider,
        \core_privacy\local\request\plugin\provider,
        \core_privacy\local\request\core_userlist_provider {

    /**
     * Describe the data stored and the data sent.
     *
     * @param collection $collection the collection to add to
     * @return collection the same collection
     */
    public static function get_metadata(collection $collection): collection {
        $collection->add_database_table('local_edcbridge_outbox', [
            'userid' => 'privacy:metadata:outbox:userid',
            'courseid' => 'privacy:metadata:outbox:courseid',
            'timecompleted' => 'privacy:metadata:outbox:timecompleted',
            'state' => 'privacy:metadata:outbox:state',
            'attempts' => 'privacy:metadata:outbox:attempts',
            'lasterror' => 'privacy:metadata:outbox:lasterror',
            'credentialid' => 'privacy:metadata:outbox:credentialid',
            'timecreated' => 'privacy:metadata:outbox:timecreated',
            'timemodified' => 'privacy:metadata:outbox:timemodified',
        ], 'privacy:metadata:outbox');
        $collection->add_external_location_link('edcbridge_sidecar', [
            'userid' => 'privacy:metadata:edcbridge_sidecar:userid',
            'firstname' => 'privacy:metadata:edcbridge_sidecar:firstname',
            'lastname' => 'privacy:metadata:edcbridge_sidecar:lastname',
            'email' => 'privacy:metadata:edcbridge_sidecar:email',
            'lang' => 'privacy:metadata:edcbridge_sidecar:lang',
            'courseid' => 'privacy:metadata:edcbridge_sidecar:courseid',
            'grade' => 'privacy:metadata:edcbridge_sidecar:grade',
            'timecompleted' => 'privacy:metadata:edcbridge_sidecar:timecompleted',
        ], 'privacy:metadata:edcbridge_sidecar');
        $collection->add_subsystem_link('core_completion', [], 'privacy:metadata:core_completion');
        $collection->add_subsystem_link('core_grades', [], 'privacy:metadata:core_grades');
        return $collection;
    }

    /**
     * Course contexts where the user has outbox rows.
     *
     * @param int $userid the user
     * @return contextlist
     */
    public static function get_contexts_for_userid(int $userid): contextlist {
        $contextlist = new contextlist();
        $contextlist->add_from_sql('SELECT ctx.id
                                      FROM {context} ctx
                                      JOIN {local_edcbridge_outbox} o ON o.courseid = ctx.instanceid AND ctx.contextlevel = :level
                                     WHERE o.userid = :userid',
            ['level' => CONTEXT_COURSE, 'userid' => $userid]);
        return $contextlist;
    }

    /**
     * Users with outbox rows in a course context.
     *
     * @param userlist $userlist the list to fill
     */
    public static function get_users_in_context(userlist $userlist): void {
        $context = $userlist->get_context();
        if ($context->contextlevel != CONTEXT_COURSE) {
            return;
        }
        $userlist->add_from_sql('userid', 'SELECT userid FROM {local_edcbridge_outbox} WHERE courseid = :courseid',
            ['courseid' => $context->instanceid]);
    }

    /**
     * Export the user's outbox rows, per course.
     *
     * @param approved_contextlist $contextlist the approved contexts
     */
    public static function export_user_data(approved_contextlist $contextlist): void {
        global $DB;
        $userid = $contextlist->get_user()->id;
        foreach ($contextlist->get_contexts() as $context) {
            if ($context->contextlevel != CONTEXT_COURSE) {
                continue;
            }
            $row = $DB->get_record('local_edcbridge_outbox', ['courseid' => $context->instanceid, 'userid' => $userid]);
            if (!$row) {
                continue;
            }
            writer::with_context($context)->export_data([get_string('pluginname', 'local_edcbridge')], (object) [
                'timecompleted' => transform::datetime($row->timecompleted),
                'state' => get_string('state_' . $row->state, 'local_edcbridge'),
                'attempts' => $row->attempts,
                'lasterror' => $row->lasterror,
                'credentialid' => $row->credentialid,
                'timecreated' => transform::datetime($row->timecreated),
                'timemodified' => transform::datetime($row->timemodified),
            ]);
        }
    }

    /**
     * Delete every outbox row of a course context.
     *
     * @param \context $context the context
     */
    public static function delete_data_for_all_users_in_context(\context $context): void {
        global $DB;
        if ($context->contextlevel == CONTEXT_COURSE) {
            $DB->delete_records('local_edcbridge_outbox', ['courseid' => $context->instanceid]);
        }
    }

    /**
     * Delete the user's outbox rows in the approved contexts.
     *
     * @param approved_contextlist $contextlist the approved contexts
     */
    public static function delete_data_for_user(approved_contextlist $contextlist): void {
        global $DB;
        $userid = $contextlist->get_user()->id;
        foreach ($contextlist->get_contexts() as $context) {
            if ($context->contextlevel == CONTEXT_COURSE) {
                $DB->delete_records('local_edcbridge_outbox', ['courseid' => $context->instanceid, 'userid' => $userid]);
            }
        }
    }

    /**
     * Delete the outbox rows of the approved users in a course context.
     *
     * @param approved_userlist $userlist the approved users
     */
    public static function delete_data_for_users(approved_userlist $userlist): void {
        global $DB;
        $context = $userlist->get_context();
        if ($context->contextlevel != CONTEXT_COURSE || !$userlist->get_userids()) {
            return;
        }
        [$insql, $params] = $DB->get_in_or_equal($userlist->get_userids(), SQL_PARAMS_NAMED);
        $params['courseid'] = $context->instanceid;
        $DB->delete_records_select('local_edcbridge_outbox', "courseid = :courseid AND userid {$insql}", $params);
    }
}
