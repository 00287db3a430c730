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

namespace local_edcbridge\task;

use local_edcbridge\local\payload_builder;
use local_edcbridge\local\signer;

/**
 * Sends one course completion to the EDC Bridge sidecar.
 *
 * Gathers the learner, the course total grade, the course's competencies and custom fields,
 * (re)sends the course template when template defaults are configured, then POSTs the
 * completion. A network error, a 5xx, 401/403 (wrong secret) or 429 throws, so Moodle retries
 * the task with its back-off; a 4xx about the data is logged (field names only) and dropped,
 * since sending the same data again cannot succeed. The sidecar dedupes repeats.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class send_completion extends \core\task\adhoc_task {
    /**
     * Task name shown in the admin task pages.
     *
     * @return string
     */
    public function get_name(): string {
        return get_string('tasksendcompletion', 'local_edcbridge');
    }

    /**
     * Gather and send.
     */
    public function execute() {
        global $CFG, $DB;
        require_once($CFG->libdir . '/filelib.php');
        require_once($CFG->libdir . '/gradelib.php');

        $data = $this->get_custom_data();
        $config = get_config('local_edcbridge');
        if (empty($config->sidecarurl) || empty($config->source) || empty($config->secret)) {
            mtrace('local_edcbridge: not configured (sidecar URL, source and secret are needed); skipped.');
            return;
        }
        $course = get_course($data->courseid);
        $user = \core_user::get_user($data->userid, '*', MUST_EXIST);
        $record = $DB->get_record('course_completions', ['course' => $course->id, 'userid' => $user->id]);
        if (!$record || empty($record->timecompleted)) {
            mtrace("local_edcbridge: course {$course->id}, user {$user->id}: no completion recorded; skipped.");
            return;
        }
        $customfields = $this->custom_fields((int) $course->id);
        if (!empty($config->markerfield)) {
            $marker = strtolower($customfields[$config->markerfield] ?? '');
            if (in_array($marker, ['', '0', 'no', 'false', 'non'], true)) {
                return; // Not a course marked for credentials.
            }
        }
        $builder = new payload_builder($config->source, [
            'ects' => $config->fieldects ?? '',
            'eqf_level' => $config->fieldeqf ?? '',
            'isced_f' => $config->fieldiscedf ?? '',
            'language' => $config->fieldlang ?? '',
        ]);
        $defaults = json_decode($config->templatedefaults ?? '', true);
        try {
            if (is_array($defaults)) {
                $built = $builder->build_template(
                    ['fullname' => $course->fullname, 'summary' => $course->summary, 'lang' => $course->lang],
                    $customfields, $this->competencies((int) $course->id), $defaults);
                foreach ($built['warnings'] as $warning) {
                    mtrace("local_edcbridge: course {$course->id}: {$warning}");
                }
                $path = '/api/v1/sources/' . rawurlencode($config->source) . '/courses/' . $course->id . '/template';
                $this->send($config, 'PUT', $path, $built['template'], $course->id, $user->id);
            }
            $completion = $builder->build_completion((int) $course->id,
                ['id' => $user->id, 'firstname' => $user->firstname, 'lastname' => $user->lastname,
                 'email' => $user->email, 'lang' => $user->lang],
                $this->course_grade((int) $course->id, (int) $user->id), (int) $record->timecompleted);
        } catch (\InvalidArgumentException $e) {
            mtrace("local_edcbridge: course {$course->id}, user {$user->id}: " . $e->getMessage() . '; not sent.');
            return;
        }
        $this->send($config, 'POST', '/api/v1/completions', $completion, $course->id, $user->id);
    }

    /**
     * Course custom fields by short name: select fields give their label, others their value.
     *
     * @param int $courseid course id
     * @return array short name => value
     */
    private function custom_fields(int $courseid): array {
        $values = [];
        $handler = \core_course\customfield\course_handler::create();
        foreach ($handler->get_instance_data($courseid, true) as $data) {
            $field = $data->get_field();
            $value = $field->get('type') === 'select' ? $data->export_value() : $data->get_value();
            $values[$field->get('shortname')] = trim(strip_tags((string) $value));
        }
        return $values;
    }

    /**
     * The course's competencies (the teacher's ESCO tags), when competencies are enabled.
     *
     * @param int $courseid course id
     * @return array list of [id, shortname, idnumber, description]
     */
    private function competencies(int $courseid): array {
        if (!get_config('core_competency', 'enabled')) {
            return [];
        }
        $list = [];
        foreach (\core_competency\api::list_course_competencies($courseid) as $entry) {
            $competency = $entry['competency'];
            $list[] = [
                'id' => $competency->get('id'),
                'shortname' => $competency->get('shortname'),
                'idnumber' => $competency->get('idnumber'),
                'description' => $competency->get('description'),
            ];
        }
        return $list;
    }

    /**
     * The learner's course total, or null when there is none.
     *
     * @param int $courseid course id
     * @param int $userid learner id
     * @return array|null score, max, text, pass
     */
    private function course_grade(int $courseid, int $userid): ?array {
        $item = \grade_item::fetch_course_item($courseid);
        $grade = \grade_grade::fetch(['itemid' => $item->id, 'userid' => $userid]);
        if (!$grade || $grade->finalgrade === null) {
            return null;
        }
        return [
            'score' => (float) $grade->finalgrade,
            'max' => (float) $item->grademax,
            'text' => grade_format_gradevalue($grade->finalgrade, $item, true),
            'pass' => (float) $item->gradepass,
        ];
    }

    /**
     * POST/PUT one signed JSON request; throws when a retry can help.
     *
     * @param \stdClass $config plugin settings
     * @param string $method HTTP method
     * @param string $path API path (without the sidecar's base path)
     * @param array $payload JSON body
     * @param int $courseid for the log line
     * @param int $userid for the log line
     * @throws \moodle_exception so that Moodle retries the task
     */
    private function send(\stdClass $config, string $method, string $path, array $payload, int $courseid,
            int $userid): void {
        $base = rtrim($config->sidecarurl, '/');
        $body = json_encode($payload, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
        $signedpath = (string) parse_url($base, PHP_URL_PATH) . $path;
        $headers = ['Content-Type: application/json', 'Accept: application/json'];
        // Signed afresh on every attempt (a Moodle task retry included): new timestamp, new X-EDC-Nonce.
        foreach (signer::headers($config->source, $config->secret, $method, $signedpath, $body, time()) as $k => $v) {
            $headers[] = "{$k}: {$v}";
        }
        // The sidecar usually sits on localhost or a private network, which Moodle's curl
        // security helper blocks by default; the URL comes from the site administrator only.
        $curl = new \curl(['ignoresecurity' => true]);
        $curl->setHeader($headers);
        $response = $curl->post($base . $path, $body, ['CURLOPT_CUSTOMREQUEST' => $method, 'CURLOPT_TIMEOUT' => 30]);
        $status = (int) ($curl->get_info()['http_code'] ?? 0);
        if ($curl->get_errno() || $status === 0 || $status >= 500 || in_array($status, [401, 403, 408, 429], true)) {
            throw new \moodle_exception('sendfailed', 'local_edcbridge', '', "{$method} {$path}: HTTP {$status}");
        }
        if ($status >= 400) {
            $problem = json_decode((string) $response, true);
            $fields = [];
            foreach (($problem['errors'] ?? []) as $error) {
                $fields[] = $error['field'] ?? '?';
            }
            mtrace("local_edcbridge: course {$courseid}, user {$userid}: {$method} {$path} refused "
                . "(HTTP {$status}; fields: " . implode(', ', $fields) . ').');
            return;
        }
        mtrace("local_edcbridge: course {$courseid}, user {$userid}: {$method} {$path} HTTP {$status}.");
    }
}
