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
 * Admin settings: where the sidecar is, which source this site is, its secret, field names.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

if ($hassiteconfig) {
    $settings = new admin_settingpage('local_edcbridge', new lang_string('pluginname', 'local_edcbridge'));
    $ADMIN->add('localplugins', $settings);

    if ($ADMIN->fulltree) {
        $settings->add(new admin_setting_configtext('local_edcbridge/sidecarurl',
            new lang_string('sidecarurl', 'local_edcbridge'),
            new lang_string('sidecarurl_desc', 'local_edcbridge'), '', PARAM_URL));
        $settings->add(new admin_setting_configtext('local_edcbridge/source',
            new lang_string('source', 'local_edcbridge'),
            new lang_string('source_desc', 'local_edcbridge'), 'moodle', PARAM_ALPHANUMEXT));
        $settings->add(new admin_setting_configpasswordunmask('local_edcbridge/secret',
            new lang_string('secret', 'local_edcbridge'),
            new lang_string('secret_desc', 'local_edcbridge'), ''));
        $settings->add(new admin_setting_configtext('local_edcbridge/markerfield',
            new lang_string('markerfield', 'local_edcbridge'),
            new lang_string('markerfield_desc', 'local_edcbridge'), 'edc_issue', PARAM_ALPHANUMEXT));
        $fields = ['fieldects' => 'edc_ects', 'fieldeqf' => 'edc_eqf', 'fieldiscedf' => 'edc_iscedf',
                   'fieldlang' => 'edc_lang'];
        foreach ($fields as $name => $default) {
            $settings->add(new admin_setting_configtext('local_edcbridge/' . $name,
                new lang_string($name, 'local_edcbridge'),
                new lang_string('field_desc', 'local_edcbridge'), $default, PARAM_ALPHANUMEXT));
        }
        $settings->add(new admin_setting_configtextarea('local_edcbridge/templatedefaults',
            new lang_string('templatedefaults', 'local_edcbridge'),
            new lang_string('templatedefaults_desc', 'local_edcbridge'), '', PARAM_RAW));
    }
}
