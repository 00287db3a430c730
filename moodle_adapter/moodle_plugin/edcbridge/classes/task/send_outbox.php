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

use local_edcbridge\local\config;
use local_edcbridge\local\course_data;
use local_edcbridge\local\course_data_exception;
use local_edcbridge\local\learner_data_exception;
use local_edcbridge\local\outbox;
use local_edcbridge\local\rules;
use local_edcbridge\local\sender;
use local_edcbridge\local\sidecar_rejected;
use local_edcbridge\local\sidecar_unavailable;

/**
 * Sends the outbox to EDC Bridge: every minute, oldest first, until the sidecar accepts each row.
 *
 * Per course, the template is built from the course by the shared rules and PUT when it changed
 * (or when the sidecar says it has none); per learner, the completion is built from Moodle's
 * completion record, the learner's visible course total (after a regrade) and the completion
 * criteria. When the sidecar is unreachable the run stops and the rows wait (back-off up to an
 * hour); a refusal is kept with the sidecar's problem details and administrators are notified.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class send_outbox extends \core\task\scheduled_task {
    /** Rows read per run. */
    const BATCH = 500;
    /** Seconds a run may spend sending before it leaves the rest to the next run. */
    const TIME_BUDGET = 50;

    /** @var int refusals this run, for the administrators' notification */
    private $refused = 0;

    /**
     * Task name shown in the admin task pages.
     *
     * @return string
     */
    public function get_name(): string {
        return get_string('tasksendoutbox', 'local_edcbridge');
    }

    /**
     * Sweep for missed completions, then send what is due.
     */
    public function execute() {
        $config = config::load();
        $now = time();
        if ($now - (int) get_config('local_edcbridge', 'lastsweep') >= 600) {
            [$queued, $ignored] = outbox::sweep($config->markerfield, $now);
            set_config('lastsweep', $now, 'local_edcbridge');
            if ($queued) {
                mtrace("local_edcbridge: {$queued} completion(s) queued that the observer had not seen.");
            }
            if ($ignored) {
                mtrace("local_edcbridge: {$ignored} recent completion(s) in courses not marked for credentials "
                    . "(custom field '{$config->markerfield}' not ticked): not sent.");
            }
        }
        if (!$config->ready()) {
            mtrace('local_edcbridge: not sending: ' . implode('; ', $config->problems));
            return;
        }
        course_data::reset();
        $sender = new sender($config);
        $rows = outbox::due($now, self::BATCH);
        $bycourse = [];
        foreach ($rows as $row) {
            $bycourse[(int) $row->courseid][] = $row;
        }
        $started = time();
        $sent = 0;
        try {
            foreach ($bycourse as $courseid => $courserows) {
                if (time() - $started > self::TIME_BUDGET) {
                    mtrace('local_edcbridge: time budget used; the rest goes with the next run.');
                    break;
                }
                $sent += $this->send_course($config, $sender, $courseid, $courserows);
            }
        } catch (sidecar_unavailable $e) {
            mtrace('local_edcbridge: sending stopped, the rows wait for the next run: ' . $e->getMessage());
        }
        mtrace("local_edcbridge: {$sent} completion(s) accepted by EDC Bridge.");
        if ($this->refused) {
            $this->notify_admins($this->refused);
        }
    }

    /**
     * Send one course's due rows.
     *
     * @param config $config plugin settings
     * @param sender $sender HTTP client
     * @param int $courseid course id
     * @param \stdClass[] $rows its due rows
     * @return int rows accepted
     * @throws sidecar_unavailable to stop the run
     */
    private function send_course(config $config, sender $sender, int $courseid, array $rows): int {
        global $DB;
        $course = $DB->get_record('course', ['id' => $courseid]);
        if (!$course) {
            foreach ($rows as $row) {
                outbox::defer($row, get_string('error_coursegone', 'local_edcbridge'), DAYSECS);
            }
            return 0;
        }
        if (!course_data::is_marked($courseid, $config->markerfield)) {
            $why = get_string('error_notmarked', 'local_edcbridge', $config->markerfield);
            mtrace("local_edcbridge: course {$courseid}: {$why}");
            foreach ($rows as $row) {
                outbox::defer($row, $why, outbox::DATA_DELAY);
            }
            return 0;
        }
        try {
            $built = course_data::template($course, $config);
        } catch (course_data_exception $e) {
            mtrace("local_edcbridge: course {$courseid}: " . $e->getMessage());
            foreach ($rows as $row) {
                outbox::defer($row, get_string('error_template', 'local_edcbridge', $e->getMessage()), outbox::DATA_DELAY);
            }
            return 0;
        }
        foreach ($built['warnings'] as $warning) {
            mtrace("local_edcbridge: course {$courseid}: {$warning}");
        }
        try {
            $this->ensure_template($sender, $courseid, $built['template'], false);
        } catch (sidecar_rejected $e) {
            $why = get_string('error_templaterefused', 'local_edcbridge', $e->getMessage());
            mtrace("local_edcbridge: course {$courseid}: {$why}");
            foreach ($rows as $row) {
                outbox::defer($row, $why, outbox::DATA_DELAY, $e->problem);
            }
            return 0;
        } catch (sidecar_unavailable $e) {
            outbox::defer($rows[0], $e->getMessage());
            throw $e;
        }
        $accepted = 0;
        foreach ($rows as $row) {
            $accepted += $this->send_row($config, $sender, $course, $row, $built['template']);
        }
        return $accepted;
    }

    /**
     * PUT the course's template when it differs from the last one the sidecar accepted.
     *
     * @param sender $sender HTTP client
     * @param int $courseid course id
     * @param array $template the template
     * @param bool $force send even when unchanged (the sidecar says it has none)
     * @throws sidecar_rejected|sidecar_unavailable
     */
    private function ensure_template(sender $sender, int $courseid, array $template, bool $force): void {
        global $DB;
        $hash = rules::digest($template);
        $known = $DB->get_record('local_edcbridge_course', ['courseid' => $courseid]);
        if (!$force && $known && $known->templatehash === $hash) {
            return;
        }
        $answer = $sender->send('PUT', $sender->template_path($courseid), $template);
        foreach (['unknown', 'obsolete'] as $kind) {
            foreach (($answer['esco'][$kind] ?? []) as $uri) {
                mtrace("local_edcbridge: course {$courseid}: ESCO skill {$kind} to EDC Bridge: {$uri}");
            }
        }
        $record = (object) ['courseid' => $courseid, 'templatehash' => $hash, 'timesent' => time()];
        if ($known) {
            $record->id = $known->id;
            $DB->update_record('local_edcbridge_course', $record);
        } else {
            $DB->insert_record('local_edcbridge_course', $record);
        }
        mtrace("local_edcbridge: course {$courseid}: template sent.");
    }

    /**
     * Build and POST one learner's completion.
     *
     * @param config $config plugin settings
     * @param sender $sender HTTP client
     * @param \stdClass $course course record
     * @param \stdClass $row outbox row
     * @param array $template the course's template (PUT again if the sidecar lost it)
     * @return int 1 when accepted
     * @throws sidecar_unavailable to stop the run
     */
    private function send_row(config $config, sender $sender, \stdClass $course, \stdClass $row, array $template): int {
        global $DB;
        $where = "course {$course->id}, user {$row->userid}";
        $user = \core_user::get_user($row->userid);
        if (!$user || !empty($user->deleted)) {
            outbox::defer($row, get_string('error_usergone', 'local_edcbridge'), DAYSECS);
            return 0;
        }
        $completed = (int) $DB->get_field('course_completions', 'timecompleted',
            ['course' => $course->id, 'userid' => $row->userid]);
        if (!$completed) {
            outbox::defer($row, get_string('error_notcomplete', 'local_edcbridge'), outbox::DATA_DELAY);
            return 0;
        }
        try {
            $grade = course_data::grade((int) $course->id, (int) $row->userid);
            $completion = rules::build_completion($config->source, (int) $course->id, course_data::learner($user),
                $completed, course_data::criteria($course, (int) $row->userid), $grade);
        } catch (learner_data_exception $e) {
            mtrace("local_edcbridge: {$where}: " . $e->getMessage());
            outbox::defer($row, $e->getMessage(), outbox::DATA_DELAY);
            return 0;
        } catch (\Throwable $e) {
            // The grade or completion API failed: never send without the grade, try again later.
            mtrace("local_edcbridge: {$where}: " . get_class($e) . ': ' . $e->getMessage());
            outbox::defer($row, get_string('error_gradeapi', 'local_edcbridge', $e->getMessage()));
            return 0;
        }
        try {
            try {
                $answer = $sender->send('POST', '/api/v1/completions', $completion);
            } catch (sidecar_rejected $e) {
                if (!$e->missing_template()) {
                    throw $e;
                }
                mtrace("local_edcbridge: course {$course->id}: EDC Bridge has no template for it: sending it again.");
                $this->ensure_template($sender, (int) $course->id, $template, true);
                $answer = $sender->send('POST', '/api/v1/completions', $completion);
            }
        } catch (sidecar_rejected $e) {
            mtrace("local_edcbridge: {$where}: refused by EDC Bridge: " . $e->getMessage());
            outbox::refuse($row, $e->getMessage(), $e->problem);
            $this->refused++;
            return 0;
        } catch (sidecar_unavailable $e) {
            outbox::defer($row, $e->getMessage());
            throw $e;
        }
        if (empty($answer['id'])) {
            outbox::defer($row, get_string('error_noid', 'local_edcbridge'));
            return 0;
        }
        outbox::sent($row, (string) $answer['id']);
        mtrace("local_edcbridge: {$where}: accepted (credential {$answer['id']}"
            . (!empty($answer['duplicate']) ? ', already known' : '') . ').');
        return 1;
    }

    /**
     * Tell the site administrators that completions were refused and where to see them.
     *
     * @param int $count refusals this run
     */
    private function notify_admins(int $count): void {
        $url = new \moodle_url('/local/edcbridge/report.php');
        foreach (get_admins() as $admin) {
            $message = new \core\message\message();
            $message->component = 'local_edcbridge';
            $message->name = 'refused';
            $message->userfrom = \core_user::get_noreply_user();
            $message->userto = $admin;
            $message->subject = get_string('notify_subject', 'local_edcbridge', $count);
            $message->fullmessage = get_string('notify_body', 'local_edcbridge', ['count' => $count, 'url' => $url->out(false)]);
            $message->fullmessageformat = FORMAT_PLAIN;
            $message->fullmessagehtml = '';
            $message->smallmessage = $message->subject;
            $message->notification = 1;
            $message->contexturl = $url->out(false);
            $message->contexturlname = get_string('report', 'local_edcbridge');
            message_send($message);
        }
    }
}
