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

namespace local_edcbridge\local;

/**
 * The plugin's outbox: one row per course and learner, kept until the sidecar accepts it.
 *
 * Rows are written by the course_completed observer and by a sweep that finds completions the
 * observer missed; the scheduled task sends them. A row leaves "pending" only for "sent" (the
 * sidecar accepted it) or "refused" (the sidecar refused its content: kept, with the problem
 * details, for an administrator to retry or discard). Nothing is dropped by a retry limit.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class outbox {
    /** The table. */
    const TABLE = 'local_edcbridge_outbox';
    /** Longest wait between two attempts when the sidecar is unavailable. */
    const MAX_DELAY = 3600;
    /** Wait after a data problem in Moodle (learner without e-mail, invalid course field...). */
    const DATA_DELAY = 3600;
    /** How far back the sweep looks for completions the observer may have missed. */
    const SWEEP_WINDOW = 30 * DAYSECS;

    /**
     * Queue a completion (or bring an unsent row up to date); a sent row stays sent.
     *
     * @param int $courseid course id
     * @param int $userid learner id
     * @param int $timecompleted course_completions.timecompleted
     */
    public static function enqueue(int $courseid, int $userid, int $timecompleted): void {
        global $DB;
        $now = time();
        $row = $DB->get_record(self::TABLE, ['courseid' => $courseid, 'userid' => $userid]);
        if ($row) {
            if ($row->state === 'pending') {
                $DB->update_record(self::TABLE, (object) ['id' => $row->id, 'timecompleted' => $timecompleted,
                    'nextattempt' => 0, 'timemodified' => $now]);
            }
            return;
        }
        try {
            $DB->insert_record(self::TABLE, (object) ['courseid' => $courseid, 'userid' => $userid,
                'timecompleted' => $timecompleted, 'state' => 'pending', 'attempts' => 0, 'nextattempt' => 0,
                'timecreated' => $now, 'timemodified' => $now]);
        } catch (\dml_write_exception $e) {
            // Queued at the same moment by the sweep or a repeated event: one row is what we want.
            if (!$DB->record_exists(self::TABLE, ['courseid' => $courseid, 'userid' => $userid])) {
                throw $e;
            }
        }
    }

    /**
     * Pending rows due now, oldest first.
     *
     * @param int $now current time
     * @param int $limit most rows
     * @return \stdClass[]
     */
    public static function due(int $now, int $limit): array {
        global $DB;
        return array_values($DB->get_records_select(self::TABLE, "state = 'pending' AND nextattempt <= :now",
            ['now' => $now], 'nextattempt ASC, id ASC', '*', 0, $limit));
    }

    /**
     * The sidecar accepted the completion.
     *
     * @param \stdClass $row outbox row
     * @param string $credentialid the sidecar's credential id
     */
    public static function sent(\stdClass $row, string $credentialid): void {
        global $DB;
        $DB->update_record(self::TABLE, (object) ['id' => $row->id, 'state' => 'sent', 'credentialid' => $credentialid,
            'attempts' => $row->attempts + 1, 'lasterror' => null, 'problem' => null, 'timemodified' => time()]);
    }

    /**
     * Not sent this time: try again later.
     *
     * @param \stdClass $row outbox row
     * @param string $error why
     * @param int|null $delay seconds to wait; null for the back-off (1 min doubling to 1 h)
     * @param array|null $problem the sidecar's problem details, when it gave some
     */
    public static function defer(\stdClass $row, string $error, ?int $delay = null, ?array $problem = null): void {
        global $DB;
        $attempts = $row->attempts + 1;
        if ($delay === null) {
            $delay = min(self::MAX_DELAY, 60 * (2 ** min($attempts - 1, 10)));
        }
        $DB->update_record(self::TABLE, (object) ['id' => $row->id, 'attempts' => $attempts,
            'nextattempt' => time() + $delay, 'lasterror' => \core_text::substr($error, 0, 2000),
            'problem' => $problem ? json_encode($problem, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) : null,
            'timemodified' => time()]);
    }

    /**
     * The sidecar refused the completion's content: kept for an administrator.
     *
     * @param \stdClass $row outbox row
     * @param string $error one line naming the fields at fault
     * @param array $problem the sidecar's problem details
     */
    public static function refuse(\stdClass $row, string $error, array $problem): void {
        global $DB;
        $DB->update_record(self::TABLE, (object) ['id' => $row->id, 'state' => 'refused', 'attempts' => $row->attempts + 1,
            'lasterror' => \core_text::substr($error, 0, 2000),
            'problem' => json_encode($problem, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), 'timemodified' => time()]);
    }

    /**
     * An administrator asks for another attempt now (one row, or every row not sent).
     *
     * @param int|null $id row id; null for all
     * @return int rows retried
     */
    public static function retry(?int $id = null): int {
        global $DB;
        $where = "state IN ('pending', 'refused')";
        $params = [];
        if ($id !== null) {
            $where .= ' AND id = :id';
            $params['id'] = $id;
        }
        $count = $DB->count_records_select(self::TABLE, $where, $params);
        $DB->set_field_select(self::TABLE, 'state', 'pending', $where, $params);
        $DB->set_field_select(self::TABLE, 'nextattempt', 0, $where, $params);
        $DB->set_field_select(self::TABLE, 'attempts', 0, $where, $params);
        return $count;
    }

    /**
     * An administrator gives up on a row (the learner will get no credential from this route).
     *
     * @param int $id row id
     */
    public static function discard(int $id): void {
        global $DB;
        $DB->delete_records_select(self::TABLE, "id = :id AND state <> 'sent'", ['id' => $id]);
    }

    /**
     * Rows by state, and how many need an administrator (refused, or failing for an hour or more).
     *
     * @return array ['pending' => int, 'sent' => int, 'refused' => int, 'failing' => int]
     */
    public static function counts(): array {
        global $DB;
        $counts = ['pending' => 0, 'sent' => 0, 'refused' => 0];
        foreach ($DB->get_records_sql('SELECT state, COUNT(1) AS n FROM {' . self::TABLE . '} GROUP BY state') as $r) {
            $counts[$r->state] = (int) $r->n;
        }
        $counts['failing'] = $DB->count_records_select(self::TABLE,
            "state = 'pending' AND lasterror IS NOT NULL AND timecreated < :since", ['since' => time() - HOURSECS]);
        return $counts;
    }

    /**
     * Queue completions the observer did not see (written without the event, or while the plugin
     * was being installed or upgraded). Looks back SWEEP_WINDOW days from now, never before the
     * plugin started watching; courses not marked for credentials are counted, not queued.
     *
     * @param string $markerfield marker custom field short name
     * @param int $now current time
     * @return array [int queued, int ignored (course not marked)]
     */
    public static function sweep(string $markerfield, int $now): array {
        global $DB;
        $from = max((int) get_config('local_edcbridge', 'sweepfrom'), $now - self::SWEEP_WINDOW);
        $sql = 'SELECT cc.id, cc.course, cc.userid, cc.timecompleted
                  FROM {course_completions} cc
                 WHERE cc.timecompleted >= :from
                       AND NOT EXISTS (SELECT 1 FROM {' . self::TABLE . '} o WHERE o.courseid = cc.course AND o.userid = cc.userid)
              ORDER BY cc.timecompleted, cc.id';
        return self::queue_rows($DB->get_recordset_sql($sql, ['from' => $from], 0, 5000), $markerfield);
    }

    /**
     * Queue past completions (a backfill), for one course or all, completed since a time.
     *
     * @param string $markerfield marker custom field short name
     * @param int|null $courseid one course, or null for all
     * @param int $since completed at or after this time
     * @return array [int queued, int ignored (course not marked)]
     */
    public static function queue_past(string $markerfield, ?int $courseid, int $since): array {
        global $DB;
        $params = ['since' => $since];
        $where = 'cc.timecompleted >= :since';
        if ($courseid !== null) {
            $where .= ' AND cc.course = :courseid';
            $params['courseid'] = $courseid;
        }
        $sql = "SELECT cc.id, cc.course, cc.userid, cc.timecompleted
                  FROM {course_completions} cc
                 WHERE {$where}
                       AND NOT EXISTS (SELECT 1 FROM {" . self::TABLE . "} o WHERE o.courseid = cc.course AND o.userid = cc.userid)
              ORDER BY cc.timecompleted, cc.id";
        return self::queue_rows($DB->get_recordset_sql($sql, $params), $markerfield);
    }

    /**
     * Queue the completions of a record set whose course is marked.
     *
     * @param \moodle_recordset $rs course_completions rows
     * @param string $markerfield marker custom field short name
     * @return array [int queued, int ignored]
     */
    private static function queue_rows(\moodle_recordset $rs, string $markerfield): array {
        $marked = [];
        $queued = 0;
        $ignored = 0;
        foreach ($rs as $completion) {
            $courseid = (int) $completion->course;
            if (!isset($marked[$courseid])) {
                $marked[$courseid] = course_data::is_marked($courseid, $markerfield);
            }
            if (!$marked[$courseid]) {
                $ignored++;
                continue;
            }
            self::enqueue($courseid, (int) $completion->userid, (int) $completion->timecompleted);
            $queued++;
        }
        $rs->close();
        return [$queued, $ignored];
    }
}
