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

namespace local_edcbridge;

/**
 * Turns course completions into queued sends.
 *
 * No HTTP here: the observer runs in the request that completed the course, so it only
 * queues an ad-hoc task; cron sends it and retries it when the sidecar is away.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class observer {
    /**
     * Queue one send per (course, learner); a repeated event does not queue twice.
     *
     * @param \core\event\course_completed $event the completion event
     */
    public static function course_completed(\core\event\course_completed $event): void {
        if (empty(get_config('local_edcbridge', 'sidecarurl'))) {
            return;
        }
        $task = new task\send_completion();
        $task->set_custom_data([
            'courseid' => (int) $event->courseid,
            'userid' => (int) $event->relateduserid,
        ]);
        \core\task\manager::queue_adhoc_task($task, true);
    }
}
