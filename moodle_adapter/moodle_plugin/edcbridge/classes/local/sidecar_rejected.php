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
 * The sidecar read the request and refused its content with an RFC 9457 problem.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class sidecar_rejected extends \RuntimeException {
    /** @var int HTTP status */
    public $status;
    /** @var array the problem details */
    public $problem;

    /**
     * Constructor.
     *
     * @param int $status HTTP status
     * @param array $problem the problem details
     * @param string $detail one line naming the fields at fault
     */
    public function __construct(int $status, array $problem, string $detail) {
        parent::__construct("HTTP {$status}: {$detail}");
        $this->status = $status;
        $this->problem = $problem;
    }

    /**
     * Whether the sidecar has no template for the course (PUT one and try again).
     *
     * @return bool
     */
    public function missing_template(): bool {
        foreach (($this->problem['errors'] ?? []) as $error) {
            if (is_array($error) && substr((string) ($error['field'] ?? ''), -9) === 'course_id'
                    && strpos((string) ($error['message'] ?? ''), 'template') !== false) {
                return true;
            }
        }
        return false;
    }
}
