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

use local_edcbridge\local\course_data;
use local_edcbridge\local\outbox;

/**
 * Writes course completions to the plugin's outbox.
 *
 * No HTTP here: the observer runs in the request that completed the course (or in cron), so it
 * only writes one row; the scheduled task sends it and retries until EDC Bridge accepts it.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class observer {
    /**
     * Queue the completion when its course is marked for credentials.
     *
     * @param \core\event\course_completed $event the completion event
     */
    public static function course_completed(\core\event\course_completed $event): void {
        $record = $event->get_record_snapshot('course_completions', $event->objectid);
        $marker = trim((string) get_config('local_edcbridge', 'markerfield'));
        if (!$record || empty($record->timecompleted) || !course_data::is_marked((int) $event->courseid, $marker)) {
            return; // The scheduled task's sweep logs completions of courses not marked.
        }
        outbox::enqueue((int) $event->courseid, (int) $event->relateduserid, (int) $record->timecompleted);
    }
}
