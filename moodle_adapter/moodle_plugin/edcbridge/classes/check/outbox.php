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

namespace local_edcbridge\check;

use core\check\check;
use core\check\result;
use local_edcbridge\local\config;
use local_edcbridge\local\outbox as rows;

/**
 * Status check (Site administration › Reports › System status): completions EDC Bridge has not taken.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class outbox extends check {
    /**
     * Link to the plugin's report.
     *
     * @return \action_link|null
     */
    public function get_action_link(): ?\action_link {
        return new \action_link(new \moodle_url('/local/edcbridge/report.php'), get_string('report', 'local_edcbridge'));
    }

    /**
     * Critical when completions are refused or failing, warning when the plugin cannot send.
     *
     * @return result
     */
    public function get_result(): result {
        $counts = rows::counts();
        $config = config::load();
        $summary = get_string('check_summary', 'local_edcbridge', $counts);
        if ($counts['refused'] || $counts['failing']) {
            return new result(result::CRITICAL, $summary, get_string('check_attention', 'local_edcbridge', $counts));
        }
        if (!$config->ready()) {
            return new result(result::WARNING, get_string('check_notready', 'local_edcbridge'),
                implode('<br>', array_map('s', $config->problems)));
        }
        return new result(result::OK, $summary);
    }
}
