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
 * Reduces a Moodle course and learner to the plain inputs of the shared rules (rules.php).
 *
 * The poller reads the same facts through Web Services (moodle_adapter/moodle_data.py); both then
 * apply one set of rules. Texts are read raw (unfiltered), so multilang markup reaches the rules;
 * the grade is the course total as the learner's own grade report shows it, after a regrade.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class course_data {
    /** @var array courses regraded during this run */
    private static $regraded = [];

    /**
     * The course's custom fields: short name => ['type', 'value' (stored), 'label' (displayed)].
     *
     * @param int $courseid course id
     * @return array
     */
    public static function customfields(int $courseid): array {
        $out = [];
        $handler = \core_course\customfield\course_handler::create();
        foreach ($handler->get_instance_data($courseid, true) as $data) {
            $field = $data->get_field();
            $value = $data->get_value();
            $label = $data->export_value();
            $out[$field->get('shortname')] = [
                'type' => (string) $field->get('type'),
                'value' => $value === null ? '' : (string) $value,
                'label' => $label === null ? '' : (string) $label,
            ];
        }
        return $out;
    }

    /**
     * Whether the course is marked for credentials (every course when no marker field is set).
     *
     * @param int $courseid course id
     * @param string $markerfield marker custom field short name
     * @return bool
     */
    public static function is_marked(int $courseid, string $markerfield): bool {
        return $markerfield === '' || rules::is_ticked(self::customfields($courseid), $markerfield);
    }

    /**
     * The course's competencies, as stored; an empty list when competencies are disabled.
     *
     * @param int $courseid course id
     * @return array list of ['id', 'shortname', 'idnumber', 'description']
     */
    public static function competencies(int $courseid): array {
        if (!\core_competency\api::is_enabled()) {
            return [];
        }
        $list = [];
        foreach (\core_competency\course_competency::list_competencies($courseid) as $competency) {
            $list[] = [
                'id' => (int) $competency->get('id'),
                'shortname' => (string) $competency->get('shortname'),
                'idnumber' => (string) $competency->get('idnumber'),
                'description' => (string) $competency->get('description'),
            ];
        }
        return $list;
    }

    /**
     * The course template by the shared rules.
     *
     * @param \stdClass $course course record
     * @param config $config plugin settings
     * @return array ['template' => array, 'warnings' => string[]]
     * @throws course_data_exception naming the Moodle field at fault
     */
    public static function template(\stdClass $course, config $config): array {
        return rules::build_template(
            ['id' => (int) $course->id, 'fullname' => (string) $course->fullname, 'summary' => (string) $course->summary,
             'lang' => (string) $course->lang],
            self::customfields((int) $course->id), self::competencies((int) $course->id), $config->fields,
            $config->defaults);
    }

    /**
     * The learner as the rules read them.
     *
     * @param \stdClass $user user record
     * @return array ['id', 'firstname', 'lastname', 'email', 'lang']
     */
    public static function learner(\stdClass $user): array {
        return ['id' => (int) $user->id, 'firstname' => (string) $user->firstname, 'lastname' => (string) $user->lastname,
                'email' => (string) $user->email, 'lang' => (string) $user->lang];
    }

    /**
     * The course's completion criteria for the learner.
     *
     * @param \stdClass $course course record
     * @param int $userid learner id
     * @return array list of ['type', 'complete']
     */
    public static function criteria(\stdClass $course, int $userid): array {
        global $CFG;
        require_once($CFG->libdir . '/completionlib.php');
        $info = new \completion_info($course);
        $out = [];
        foreach ($info->get_completions($userid) as $completion) {
            $out[] = ['type' => (int) $completion->get_criteria()->criteriatype, 'complete' => (bool) $completion->is_complete()];
        }
        return $out;
    }

    /**
     * The course total as the learner's own grade report shows it, after a regrade.
     *
     * Moodle's own user report decides: a hidden total gives no score, a total that depends on
     * hidden grades follows the course's "show totals" setting, and the grade cell is marked
     * gradepass/gradefail against the total's grade to pass (the same facts the poller reads
     * through gradereport_user_get_grade_items and gradereport_user_get_grades_table).
     *
     * @param int $courseid course id
     * @param int $userid learner id
     * @return array|null ['score', 'max', 'min', 'passing'], null when the learner sees no course total
     */
    public static function grade(int $courseid, int $userid): ?array {
        global $CFG;
        require_once($CFG->libdir . '/gradelib.php');
        require_once($CFG->dirroot . '/grade/lib.php');
        require_once($CFG->dirroot . '/grade/report/user/lib.php');
        if (empty(self::$regraded[$courseid])) {
            grade_regrade_final_grades($courseid);
            self::$regraded[$courseid] = true;
        }
        $context = \context_course::instance($courseid);
        $gpr = new \grade_plugin_return(['type' => 'report', 'plugin' => 'user', 'courseid' => $courseid,
            'userid' => $userid]);
        $report = new \gradereport_user\report\user($courseid, $gpr, $context, $userid, true);
        $report->fill_table();
        $item = null;
        foreach ($report->gradeitemsdata as $data) {
            if (($data['itemtype'] ?? '') === 'course') {
                $item = $data;
                break;
            }
        }
        if ($item === null) {
            return null;
        }
        $score = $item['graderaw'] ?? null;
        $passing = null;
        if ($score !== null) {
            $rowid = "row_{$item['id']}_{$userid}";
            foreach ($report->tabledata as $row) {
                if (($row['itemname']['id'] ?? '') === $rowid) {
                    $classes = preg_split('/\s+/', (string) ($row['grade']['class'] ?? ''));
                    if (in_array('gradepass', $classes, true)) {
                        $passing = true;
                    } else if (in_array('gradefail', $classes, true)) {
                        $passing = false;
                    }
                    break;
                }
            }
        }
        return ['score' => $score, 'max' => $item['grademax'] ?? null, 'min' => $item['grademin'] ?? null,
            'passing' => $passing];
    }

    /**
     * Forget which courses were regraded (a new task run regrades again).
     */
    public static function reset(): void {
        self::$regraded = [];
    }
}
