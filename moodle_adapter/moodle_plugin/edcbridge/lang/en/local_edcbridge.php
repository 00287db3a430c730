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
 * English strings for local_edcbridge.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['field_desc'] = 'Short name of the course custom field that holds this value (leave the default unless your site uses other names).';
$string['fieldects'] = 'ECTS credits field';
$string['fieldeqf'] = 'EQF level field';
$string['fieldiscedf'] = 'ISCED-F field code field';
$string['fieldlang'] = 'Languages field';
$string['markerfield'] = 'Marker field';
$string['markerfield_desc'] = 'Short name of the course custom field (checkbox) that marks a course for European Digital Credentials. Leave empty to issue for every course with completion.';
$string['pluginname'] = 'EDC Bridge';
$string['privacy:metadata:edcbridge_sidecar'] = 'When a learner completes a course, the course completion is sent to the EDC Bridge service of your institution, which issues and seals the learner\'s European Digital Credential and sends it to them.';
$string['privacy:metadata:edcbridge_sidecar:courseid'] = 'The id of the completed course.';
$string['privacy:metadata:edcbridge_sidecar:email'] = 'The learner\'s email address, to which the credential is sent.';
$string['privacy:metadata:edcbridge_sidecar:firstname'] = 'The learner\'s first name, written on the credential.';
$string['privacy:metadata:edcbridge_sidecar:grade'] = 'The learner\'s course total grade and whether it passes.';
$string['privacy:metadata:edcbridge_sidecar:lang'] = 'The learner\'s preferred language, for the messages sent with the credential.';
$string['privacy:metadata:edcbridge_sidecar:lastname'] = 'The learner\'s last name, written on the credential.';
$string['privacy:metadata:edcbridge_sidecar:timecompleted'] = 'The time the course was completed.';
$string['privacy:metadata:edcbridge_sidecar:userid'] = 'The learner\'s user id, so the same completion is never issued twice.';
$string['secret'] = 'API key';
$string['secret_desc'] = 'The API key the EDC Bridge administrator created for this source (shown once when the source was created). Requests are signed with it; the key itself is never sent.';
$string['sendfailed'] = 'Sending to EDC Bridge failed: {$a}. The task will be retried.';
$string['sidecarurl'] = 'EDC Bridge URL';
$string['sidecarurl_desc'] = 'Base URL of the EDC Bridge service, for example https://edc.example.org. Leave empty to switch sending off.';
$string['source'] = 'Source name';
$string['source_desc'] = 'The name under which this Moodle site is registered in EDC Bridge, for example moodle-main.';
$string['tasksendcompletion'] = 'Send a course completion to EDC Bridge';
$string['templatedefaults'] = 'Course template defaults (JSON)';
$string['templatedefaults_desc'] = 'Optional. Course template values that Moodle does not hold (awarding body, mode, assessment...), as JSON, in the format described in the EDC Bridge documentation. When set, each send also updates the course template from the course\'s name, summary, custom fields and ESCO-tagged competencies. Leave empty when the templates are managed in EDC Bridge.';
