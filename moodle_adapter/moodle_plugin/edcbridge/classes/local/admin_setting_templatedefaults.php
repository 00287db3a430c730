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

defined('MOODLE_INTERNAL') || die();

require_once($CFG->libdir . '/adminlib.php');

/**
 * The template defaults setting: JSON, checked when saved so that a typo is caught at once.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class admin_setting_templatedefaults extends \admin_setting_configtextarea {
    /**
     * Accept an empty value (sending off) or a JSON object naming the awarding body.
     *
     * @param string $data the submitted value
     * @return bool|string true, or the error shown next to the field
     */
    public function validate($data) {
        if (trim((string) $data) === '') {
            return true;
        }
        [, $error] = config::parse_defaults((string) $data);
        return $error === null ? true : $error;
    }
}
