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

namespace local_edcbridge\privacy;

use core_privacy\local\metadata\collection;

/**
 * Privacy provider: the plugin stores nothing itself but sends learner data to the sidecar.
 *
 * The external location declares exactly the fields of the completion the task POSTs, so the
 * site's privacy registry shows what leaves Moodle and where.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class provider implements \core_privacy\local\metadata\provider {
    /**
     * Describe the data sent to the EDC Bridge sidecar.
     *
     * @param collection $collection the collection to add to
     * @return collection the same collection
     */
    public static function get_metadata(collection $collection): collection {
        $collection->add_external_location_link('edcbridge_sidecar', [
            'userid' => 'privacy:metadata:edcbridge_sidecar:userid',
            'firstname' => 'privacy:metadata:edcbridge_sidecar:firstname',
            'lastname' => 'privacy:metadata:edcbridge_sidecar:lastname',
            'email' => 'privacy:metadata:edcbridge_sidecar:email',
            'lang' => 'privacy:metadata:edcbridge_sidecar:lang',
            'courseid' => 'privacy:metadata:edcbridge_sidecar:courseid',
            'grade' => 'privacy:metadata:edcbridge_sidecar:grade',
            'timecompleted' => 'privacy:metadata:edcbridge_sidecar:timecompleted',
        ], 'privacy:metadata:edcbridge_sidecar');
        return $collection;
    }
}
