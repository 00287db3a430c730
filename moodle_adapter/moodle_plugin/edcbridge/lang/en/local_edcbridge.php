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

$string['admin_attention'] = 'EDC Bridge: {$a->refused} completion(s) refused and {$a->failing} failing for over an hour; learners wait for their credential.';
$string['allowblockedhosts'] = 'Bypass Moodle\'s HTTP security for EDC Bridge';
$string['allowblockedhosts_desc'] = 'Moodle\'s HTTP security settings (Site administration › General › Security › HTTP security) block localhost, private networks and ports other than 80 and 443, where EDC Bridge often runs. Prefer allowing exactly the EDC Bridge address there: remove from \'cURL blocked hosts list\' the entry that covers its host (for EDC Bridge on the same server: 127.0.0.0/8 and localhost) and add its port (for example 8080) to \'cURL allowed ports\'. Tick this only if you cannot change those settings; the URL above is then contacted even if they block it.';
$string['apikey'] = 'API key';
$string['apikey_desc'] = 'The API key the EDC Bridge administrator created for this source (shown once by "edc-bridge sources add"). It is stored encrypted; requests are signed with it and the key itself is never sent.';
$string['check_attention'] = '{$a->refused} completion(s) were refused by EDC Bridge and {$a->failing} have been failing for over an hour. Open the report to see why and retry.';
$string['check_notready'] = 'EDC Bridge is not configured: completions are kept but not sent.';
$string['check_summary'] = '{$a->sent} sent, {$a->pending} waiting, {$a->refused} refused.';
$string['checkoutbox'] = 'EDC Bridge completions';
$string['col_attempts'] = 'Attempts';
$string['col_completed'] = 'Completed';
$string['col_next'] = 'Next attempt';
$string['col_reason'] = 'Reason';
$string['col_state'] = 'State';
$string['discard'] = 'Discard';
$string['discard_confirm'] = 'Discard this completion? The learner will not get a credential from it through this plugin.';
$string['discarded'] = 'Completion discarded.';
$string['error_auth'] = 'EDC Bridge refused the signature (HTTP {$a->status}: {$a->detail}): check the source name and the API key.';
$string['error_blocked'] = 'Moodle\'s HTTP security settings block {$a->host}:{$a->port}. In Site administration › General › Security › HTTP security, remove the entry covering {$a->host} from \'cURL blocked hosts list\' and add {$a->port} to \'cURL allowed ports\' (or tick \'Bypass Moodle\'s HTTP security for EDC Bridge\').';
$string['error_coursegone'] = 'The course no longer exists.';
$string['error_dns'] = 'DNS lookup failed (unknown host name): {$a}';
$string['error_empty'] = 'the server closed the connection without answering: {$a}';
$string['error_gradeapi'] = 'The grade or completion could not be read ({$a}); not sent without it, tried again later.';
$string['error_network'] = 'network error: {$a}';
$string['error_noid'] = 'EDC Bridge answered without a credential id.';
$string['error_notcomplete'] = 'Moodle no longer records this course as complete for the learner.';
$string['error_notmarked'] = 'the course is not marked for credentials (custom field \'{$a}\' not ticked): its completions wait';
$string['error_notsidecar'] = 'HTTP {$a->status} from {$a->url} is not an answer of EDC Bridge: check the EDC Bridge URL and any proxy in between.';
$string['error_refused'] = 'connection refused (nothing listens at that address and port): {$a}';
$string['error_reset'] = 'connection reset: {$a}';
$string['error_status'] = 'EDC Bridge answered HTTP {$a->status} ({$a->detail}).';
$string['error_template'] = 'The course template cannot be built: {$a}';
$string['error_templaterefused'] = 'EDC Bridge refused the course template: {$a}';
$string['error_timeout'] = 'timed out: {$a}';
$string['error_tls'] = 'TLS failure (certificate or protocol): {$a}';
$string['error_unreachable'] = 'Cannot reach EDC Bridge at {$a->url}: {$a->cause}';
$string['error_usergone'] = 'The learner\'s account no longer exists.';
$string['fieldects'] = 'ECTS credits field';
$string['fieldects_desc'] = 'Short name of the course custom field holding the ECTS credits (for example 5 or 7.5).';
$string['fieldeqf'] = 'EQF level field';
$string['fieldeqf_desc'] = 'Short name of the course custom field holding the EQF level (1 to 8, or "Level 6").';
$string['fieldiscedf'] = 'ISCED-F field';
$string['fieldiscedf_desc'] = 'Short name of the course custom field holding the ISCED-F 2013 field code (4 digits, for example 0613).';
$string['fieldlang'] = 'Languages field';
$string['fieldlang_desc'] = 'Short name of the course custom field listing the course\'s languages (for example "en, fr").';
$string['fieldskills'] = 'ESCO outcomes required field';
$string['fieldskills_desc'] = 'Short name of the course custom field (checkbox) by which a course opts out of credentials without ESCO-tagged learning outcomes: when ticked, its completions wait until its competencies carry ESCO skills.';
$string['markerfield'] = 'Marker field';
$string['markerfield_desc'] = 'Short name of the course custom field (checkbox) that marks a course for European Digital Credentials. Leave empty to issue for every course with completion.';
$string['messageprovider:refused'] = 'Completions refused by EDC Bridge';
$string['nothing'] = 'Nothing to show.';
$string['notify_body'] = 'EDC Bridge refused {$a->count} course completion(s). The learners do not get their credential until the data is fixed and the completion retried. See {$a->url}';
$string['notify_subject'] = 'EDC Bridge refused {$a} completion(s)';
$string['pluginname'] = 'EDC Bridge';
$string['privacy:metadata:core_completion'] = 'The course completion and its criteria are read to send the completion.';
$string['privacy:metadata:core_grades'] = 'The course total, as the learner sees it, is read to send the grade.';
$string['privacy:metadata:edcbridge_sidecar'] = 'When a learner completes a course marked for credentials, the completion is sent to the EDC Bridge service of your institution, which issues and seals the learner\'s European Digital Credential and sends it to them. Requests about issued credentials go to that service\'s administrators.';
$string['privacy:metadata:edcbridge_sidecar:courseid'] = 'The id of the completed course.';
$string['privacy:metadata:edcbridge_sidecar:email'] = 'The learner\'s email address, to which the credential is sent.';
$string['privacy:metadata:edcbridge_sidecar:firstname'] = 'The learner\'s first name, written on the credential.';
$string['privacy:metadata:edcbridge_sidecar:grade'] = 'The learner\'s course total, as the learner sees it, and whether it passes.';
$string['privacy:metadata:edcbridge_sidecar:lang'] = 'The learner\'s preferred language, for the messages sent with the credential.';
$string['privacy:metadata:edcbridge_sidecar:lastname'] = 'The learner\'s last name, written on the credential.';
$string['privacy:metadata:edcbridge_sidecar:timecompleted'] = 'The time the course was completed.';
$string['privacy:metadata:edcbridge_sidecar:userid'] = 'The learner\'s user id, so the same completion is never issued twice.';
$string['privacy:metadata:outbox'] = 'Course completions waiting to be sent to EDC Bridge, or already sent, one per course and learner.';
$string['privacy:metadata:outbox:attempts'] = 'How many times sending was attempted.';
$string['privacy:metadata:outbox:courseid'] = 'The completed course.';
$string['privacy:metadata:outbox:credentialid'] = 'The id of the credential EDC Bridge issued.';
$string['privacy:metadata:outbox:lasterror'] = 'Why the last attempt did not go through.';
$string['privacy:metadata:outbox:state'] = 'Whether the completion is waiting, sent or refused.';
$string['privacy:metadata:outbox:timecompleted'] = 'When the course was completed.';
$string['privacy:metadata:outbox:timecreated'] = 'When the completion was queued.';
$string['privacy:metadata:outbox:timemodified'] = 'When the row last changed.';
$string['privacy:metadata:outbox:userid'] = 'The learner.';
$string['problem_apikeydecrypt'] = 'The API key cannot be decrypted (the site\'s encryption key changed): enter it again.';
$string['problem_defaultsbody'] = 'The course template defaults name no awarding body ("awarding_body" with at least "legal_name").';
$string['problem_defaultsjson'] = 'The course template defaults are not a JSON object: {$a}';
$string['problem_noapikey'] = 'No API key is set.';
$string['problem_nodefaults'] = 'No course template defaults are set (the awarding body at least).';
$string['problem_nosource'] = 'No source name is set.';
$string['problem_nourl'] = 'No EDC Bridge URL is set.';
$string['report'] = 'EDC Bridge completions';
$string['retried'] = '{$a} completion(s) will be sent at the next cron run.';
$string['retry'] = 'Retry';
$string['retryall'] = 'Retry all';
$string['show_all'] = 'All';
$string['show_attention'] = 'Needing attention';
$string['show_pending'] = 'Waiting';
$string['show_sent'] = 'Sent';
$string['sidecarurl'] = 'EDC Bridge URL';
$string['sidecarurl_desc'] = 'Base URL of the EDC Bridge service, for example https://edc.example.org. Completions are kept, not sent, while it is empty.';
$string['source'] = 'Source name';
$string['source_desc'] = 'The name under which this Moodle site is registered in EDC Bridge, for example moodle-main.';
$string['state_pending'] = 'Waiting';
$string['state_refused'] = 'Refused';
$string['state_sent'] = 'Sent';
$string['tasksendoutbox'] = 'Send course completions to EDC Bridge';
$string['teacher_heading'] = 'European Digital Credentials:';
$string['teacher_held'] = 'credentials of this course are held: {$a}';
$string['teacher_nocompletion'] = 'completion tracking is off in this course, so nobody can complete it.';
$string['teacher_noskills'] = 'no competency of this course carries an ESCO skill, so its credentials list no learning outcome. Add ESCO competencies (More › Competencies).';
$string['templatedefaults'] = 'Course template defaults (JSON)';
$string['templatedefaults_desc'] = 'What Moodle has no place for, as JSON in the EDC Bridge template format: at least the awarding body, for example {"awarding_body": {"legal_name": {"en": "Example University"}, "legal_identifier": "123456789", "country": "FR", "homepage": "https://univ.example"}, "mode": "online", "learning_setting": "non-formal", "languages": ["en"], "policy": {"issue_when": "passed"}}. Each course\'s name, summary, custom fields and ESCO-tagged competencies complete it.';
$string['timeout'] = 'Timeout (seconds)';
$string['timeout_desc'] = 'How long to wait for EDC Bridge before trying again later.';
