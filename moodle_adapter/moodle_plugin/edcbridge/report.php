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
 * Site administration › Reports › EDC Bridge: completions not (yet) taken by EDC Bridge.
 *
 * Lists the outbox rows that need attention with the reason and the sidecar's problem details,
 * and lets an administrator retry one row, retry all, or discard a row.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require(__DIR__ . '/../../config.php');
require_once($CFG->libdir . '/adminlib.php');

use local_edcbridge\local\config;
use local_edcbridge\local\outbox;

admin_externalpage_setup('local_edcbridge_report');

$action = optional_param('action', '', PARAM_ALPHA);
$id = optional_param('id', 0, PARAM_INT);
$show = optional_param('show', 'attention', PARAM_ALPHA);
$page = optional_param('page', 0, PARAM_INT);
$perpage = 50;
$baseurl = new moodle_url('/local/edcbridge/report.php', ['show' => $show]);

if ($action === 'retry' || $action === 'retryall') {
    require_sesskey();
    $count = outbox::retry($action === 'retry' ? $id : null);
    redirect($baseurl, get_string('retried', 'local_edcbridge', $count), null, \core\output\notification::NOTIFY_SUCCESS);
}
if ($action === 'discard') {
    if (!optional_param('confirm', 0, PARAM_BOOL)) {
        echo $OUTPUT->header();
        echo $OUTPUT->confirm(get_string('discard_confirm', 'local_edcbridge'),
            new moodle_url($baseurl, ['action' => 'discard', 'id' => $id, 'confirm' => 1, 'sesskey' => sesskey()]),
            $baseurl);
        echo $OUTPUT->footer();
        die;
    }
    require_sesskey();
    outbox::discard($id);
    redirect($baseurl, get_string('discarded', 'local_edcbridge'), null, \core\output\notification::NOTIFY_SUCCESS);
}

echo $OUTPUT->header();
echo $OUTPUT->heading(get_string('report', 'local_edcbridge'));

$config = config::load();
foreach ($config->problems as $problem) {
    echo $OUTPUT->notification(s($problem), \core\output\notification::NOTIFY_ERROR);
}
$counts = outbox::counts();
echo html_writer::tag('p', get_string('check_summary', 'local_edcbridge', $counts));

$filters = ['attention' => "o.state = 'refused' OR (o.state = 'pending' AND o.lasterror IS NOT NULL)",
            'pending' => "o.state = 'pending'", 'sent' => "o.state = 'sent'", 'all' => '1 = 1'];
if (!isset($filters[$show])) {
    $show = 'attention';
}
$links = [];
foreach (array_keys($filters) as $name) {
    $label = get_string('show_' . $name, 'local_edcbridge');
    $links[] = $name === $show ? html_writer::tag('strong', $label)
        : html_writer::link(new moodle_url('/local/edcbridge/report.php', ['show' => $name]), $label);
}
echo html_writer::tag('p', implode(' | ', $links));
echo $OUTPUT->single_button(new moodle_url($baseurl, ['action' => 'retryall', 'sesskey' => sesskey()]),
    get_string('retryall', 'local_edcbridge'), 'post');

$where = $filters[$show];
$total = $DB->count_records_sql("SELECT COUNT(1) FROM {local_edcbridge_outbox} o WHERE {$where}");
$userfields = \core_user\fields::for_name()->get_sql('u', false, '', '', false)->selects;
$rows = $DB->get_records_sql("SELECT o.*, c.fullname AS coursename, {$userfields}
                                FROM {local_edcbridge_outbox} o
                           LEFT JOIN {course} c ON c.id = o.courseid
                           LEFT JOIN {user} u ON u.id = o.userid
                               WHERE {$where}
                            ORDER BY o.timemodified DESC, o.id DESC", [], $page * $perpage, $perpage);

$table = new html_table();
$table->head = [get_string('course'), get_string('user'), get_string('col_completed', 'local_edcbridge'),
    get_string('col_state', 'local_edcbridge'), get_string('col_attempts', 'local_edcbridge'),
    get_string('col_next', 'local_edcbridge'), get_string('col_reason', 'local_edcbridge'), get_string('actions')];
foreach ($rows as $row) {
    $course = $row->coursename === null ? $row->courseid
        : html_writer::link(new moodle_url('/course/view.php', ['id' => $row->courseid]),
            format_string($row->coursename, true, ['context' => context_system::instance()]));
    $user = html_writer::link(new moodle_url('/user/view.php', ['id' => $row->userid, 'course' => $row->courseid]),
        fullname($row));
    $reason = s((string) $row->lasterror);
    if ($row->problem) {
        $problem = json_decode($row->problem, true) ?: [];
        $items = [];
        foreach (($problem['errors'] ?? []) as $error) {
            $items[] = html_writer::tag('li', s(($error['field'] ?? '?') . ': ' . ($error['message'] ?? '')));
        }
        $title = s(($problem['title'] ?? '') . (isset($problem['status']) ? " ({$problem['status']})" : ''));
        $reason .= html_writer::div($title . ($items ? html_writer::tag('ul', implode('', $items)) : ''), 'small');
    }
    $actions = [];
    if ($row->state !== 'sent') {
        $actions[] = html_writer::link(new moodle_url($baseurl, ['action' => 'retry', 'id' => $row->id, 'sesskey' => sesskey()]),
            get_string('retry', 'local_edcbridge'));
        $actions[] = html_writer::link(new moodle_url($baseurl, ['action' => 'discard', 'id' => $row->id]),
            get_string('discard', 'local_edcbridge'));
    }
    $table->data[] = [$course, $user, $row->timecompleted ? userdate($row->timecompleted) : '-',
        get_string('state_' . $row->state, 'local_edcbridge'), $row->attempts,
        $row->state === 'pending' ? userdate($row->nextattempt) : '-', $reason, implode(' · ', $actions)];
}
if ($table->data) {
    echo html_writer::table($table);
    echo $OUTPUT->paging_bar($total, $page, $perpage, $baseurl);
} else {
    echo $OUTPUT->notification(get_string('nothing', 'local_edcbridge'), \core\output\notification::NOTIFY_INFO);
}
echo $OUTPUT->footer();
