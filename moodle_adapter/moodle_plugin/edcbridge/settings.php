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
 * Admin settings, and the report under Site administration › Reports.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

if ($hassiteconfig) {
    $ADMIN->add('reports', new admin_externalpage('local_edcbridge_report', new lang_string('report', 'local_edcbridge'),
        new moodle_url('/local/edcbridge/report.php'), 'moodle/site:config'));

    $settings = new admin_settingpage('local_edcbridge', new lang_string('pluginname', 'local_edcbridge'));
    $ADMIN->add('localplugins', $settings);

    if ($ADMIN->fulltree) {
        $settings->add(new admin_setting_configtext('local_edcbridge/sidecarurl',
            new lang_string('sidecarurl', 'local_edcbridge'),
            new lang_string('sidecarurl_desc', 'local_edcbridge'), '', PARAM_URL));
        $settings->add(new admin_setting_configtext('local_edcbridge/source',
            new lang_string('source', 'local_edcbridge'),
            new lang_string('source_desc', 'local_edcbridge'), '', PARAM_ALPHANUMEXT));
        $settings->add(new admin_setting_encryptedpassword('local_edcbridge/apikey',
            new lang_string('apikey', 'local_edcbridge'),
            new lang_string('apikey_desc', 'local_edcbridge')));
        $settings->add(new admin_setting_configcheckbox('local_edcbridge/allowblockedhosts',
            new lang_string('allowblockedhosts', 'local_edcbridge'),
            new lang_string('allowblockedhosts_desc', 'local_edcbridge'), 0));
        $settings->add(new admin_setting_configtext('local_edcbridge/timeout',
            new lang_string('timeout', 'local_edcbridge'),
            new lang_string('timeout_desc', 'local_edcbridge'), 30, PARAM_INT));
        $settings->add(new admin_setting_configtext('local_edcbridge/markerfield',
            new lang_string('markerfield', 'local_edcbridge'),
            new lang_string('markerfield_desc', 'local_edcbridge'), 'edc_issue', PARAM_ALPHANUMEXT));
        $fields = ['fieldects' => 'edc_ects', 'fieldeqf' => 'edc_eqf', 'fieldiscedf' => 'edc_iscedf',
                   'fieldlang' => 'edc_lang', 'fieldskills' => 'edc_skills_required'];
        foreach ($fields as $name => $default) {
            $settings->add(new admin_setting_configtext('local_edcbridge/' . $name,
                new lang_string($name, 'local_edcbridge'),
                new lang_string($name . '_desc', 'local_edcbridge'), $default, PARAM_ALPHANUMEXT));
        }
        $settings->add(new \local_edcbridge\local\admin_setting_templatedefaults('local_edcbridge/templatedefaults',
            new lang_string('templatedefaults', 'local_edcbridge'),
            new lang_string('templatedefaults_desc', 'local_edcbridge'), ''));
    }
}
