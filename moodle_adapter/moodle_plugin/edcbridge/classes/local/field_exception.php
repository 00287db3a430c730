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
 * Moodle data that the shared rules cannot use; $field names the field at fault.
 *
 * The message reads "<field>: <problem>", the same text the poller reports for the same data.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
abstract class field_exception extends \InvalidArgumentException {
    /** @var string the field at fault */
    public $field;

    /**
     * Constructor.
     *
     * @param string $field the field at fault
     * @param string $message what is wrong with it
     */
    public function __construct(string $field, string $message) {
        parent::__construct("{$field}: {$message}");
        $this->field = $field;
    }
}
