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

use core\hook\output\before_standard_top_of_body_html_generation;
use local_edcbridge\local\config;
use local_edcbridge\local\course_data;
use local_edcbridge\local\course_data_exception;
use local_edcbridge\local\outbox;

/**
 * What teachers see in a course marked for credentials, and what administrators see on the
 * Notifications page: problems that would otherwise only appear in cron's log.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class hook_callbacks {
    /**
     * Add the notices at the top of the page.
     *
     * @param before_standard_top_of_body_html_generation $hook the hook
     */
    public static function before_standard_top_of_body_html_generation(before_standard_top_of_body_html_generation $hook): void {
        global $PAGE, $OUTPUT;
        if (during_initial_install() || !get_config('local_edcbridge', 'version')) {
            return;
        }
        try {
            if ($PAGE->pagetype === 'admin-index' && has_capability('moodle/site:config', \context_system::instance())) {
                $counts = outbox::counts();
                if ($counts['refused'] || $counts['failing']) {
                    $link = \html_writer::link(new \moodle_url('/local/edcbridge/report.php'),
                        get_string('report', 'local_edcbridge'));
                    $hook->add_html($OUTPUT->notification(get_string('admin_attention', 'local_edcbridge', $counts)
                        . ' ' . $link, \core\output\notification::NOTIFY_WARNING));
                }
                return;
            }
            if (strpos((string) $PAGE->pagetype, 'course-view') !== 0 || $PAGE->course->id == SITEID) {
                return;
            }
            $context = \context_course::instance($PAGE->course->id);
            if (!has_capability('moodle/course:update', $context)) {
                return;
            }
            $message = self::course_warning($PAGE->course);
            if ($message !== null) {
                $hook->add_html($OUTPUT->notification($message, \core\output\notification::NOTIFY_WARNING));
            }
        } catch (\Throwable $e) {
            debugging('local_edcbridge: ' . $e->getMessage(), DEBUG_DEVELOPER);
        }
    }

    /**
     * The warning a teacher sees about a course marked for credentials, or null when all is well.
     *
     * @param \stdClass $course the course
     * @return string|null
     */
    public static function course_warning(\stdClass $course): ?string {
        $config = config::load();
        if (!course_data::is_marked((int) $course->id, $config->markerfield)) {
            return null;
        }
        $notes = [];
        if (empty($course->enablecompletion)) {
            $notes[] = get_string('teacher_nocompletion', 'local_edcbridge');
        }
        try {
            $built = course_data::template($course, $config);
            foreach ($built['warnings'] as $warning) {
                if (strpos($warning, 'no ESCO-tagged competency') === 0) {
                    $notes[] = get_string('teacher_noskills', 'local_edcbridge');
                }
            }
        } catch (course_data_exception $e) {
            $notes[] = get_string('teacher_held', 'local_edcbridge', s($e->getMessage()));
        }
        if (!$notes) {
            return null;
        }
        return get_string('teacher_heading', 'local_edcbridge') . ' ' . implode(' ', $notes);
    }
}
