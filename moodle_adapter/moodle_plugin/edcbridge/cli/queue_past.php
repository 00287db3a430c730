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
 * Queue past completions (a backfill): php local/edcbridge/cli/queue_past.php [--course=ID] [--since=YYYY-MM-DD]
 *
 * Completions from before the plugin was installed are not sent on their own; this queues them
 * for the scheduled task (courses marked for credentials only). Safe to run twice: EDC Bridge
 * issues one credential per course and learner.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

define('CLI_SCRIPT', true);

require(__DIR__ . '/../../../config.php');
require_once($CFG->libdir . '/clilib.php');

[$options, $unrecognised] = cli_get_params(['course' => null, 'since' => null, 'help' => false], ['h' => 'help']);
if ($unrecognised) {
    cli_error(get_string('cliunknowoption', 'admin', implode(PHP_EOL . '  ', $unrecognised)));
}
if ($options['help']) {
    cli_writeln("Queue past course completions for EDC Bridge.\n\n"
        . "  --course=ID         only this course\n"
        . "  --since=YYYY-MM-DD  only completions from this day on (default: all)\n");
    exit(0);
}
$since = 0;
if ($options['since'] !== null) {
    $since = strtotime($options['since'] . ' 00:00:00 UTC');
    if ($since === false) {
        cli_error("--since: expected a date like 2026-01-31, got '{$options['since']}'");
    }
}
$course = $options['course'] !== null ? (int) $options['course'] : null;
$marker = trim((string) get_config('local_edcbridge', 'markerfield'));
[$queued, $ignored] = \local_edcbridge\local\outbox::queue_past($marker, $course, (int) $since);
cli_writeln("{$queued} completion(s) queued; {$ignored} in courses not marked for credentials left out.");
