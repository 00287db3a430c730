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
 * Chaînes françaises de local_edcbridge.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['field_desc'] = 'Nom abrégé du champ personnalisé de cours qui contient cette valeur (gardez la valeur par défaut sauf si votre site utilise d\'autres noms).';
$string['fieldects'] = 'Champ des crédits ECTS';
$string['fieldeqf'] = 'Champ du niveau CEC (EQF)';
$string['fieldiscedf'] = 'Champ du domaine CITE-F (ISCED-F)';
$string['fieldlang'] = 'Champ des langues';
$string['markerfield'] = 'Champ marqueur';
$string['markerfield_desc'] = 'Nom abrégé du champ personnalisé de cours (case à cocher) qui désigne les cours donnant lieu à une attestation numérique européenne. Laissez vide pour délivrer pour tout cours avec achèvement.';
$string['pluginname'] = 'EDC Bridge';
$string['privacy:metadata:edcbridge_sidecar'] = 'Quand un apprenant achève un cours, l\'achèvement est envoyé au service EDC Bridge de votre établissement, qui délivre et scelle l\'attestation numérique européenne (EDC) de l\'apprenant et la lui envoie.';
$string['privacy:metadata:edcbridge_sidecar:courseid'] = 'L\'identifiant du cours achevé.';
$string['privacy:metadata:edcbridge_sidecar:email'] = 'L\'adresse de courriel de l\'apprenant, à laquelle l\'attestation est envoyée.';
$string['privacy:metadata:edcbridge_sidecar:firstname'] = 'Le prénom de l\'apprenant, inscrit sur l\'attestation.';
$string['privacy:metadata:edcbridge_sidecar:grade'] = 'La note totale du cours de l\'apprenant et sa réussite.';
$string['privacy:metadata:edcbridge_sidecar:lang'] = 'La langue préférée de l\'apprenant, pour les messages accompagnant l\'attestation.';
$string['privacy:metadata:edcbridge_sidecar:lastname'] = 'Le nom de l\'apprenant, inscrit sur l\'attestation.';
$string['privacy:metadata:edcbridge_sidecar:timecompleted'] = 'La date d\'achèvement du cours.';
$string['privacy:metadata:edcbridge_sidecar:userid'] = 'L\'identifiant de l\'apprenant, pour qu\'un même achèvement ne soit jamais délivré deux fois.';
$string['secret'] = 'Clé d\'API';
$string['secret_desc'] = 'La clé d\'API créée pour cette source par l\'administrateur d\'EDC Bridge (affichée une seule fois à la création de la source). Les requêtes sont signées avec elle ; la clé elle-même n\'est jamais envoyée.';
$string['sendfailed'] = 'L\'envoi à EDC Bridge a échoué : {$a}. La tâche sera relancée.';
$string['sidecarurl'] = 'URL d\'EDC Bridge';
$string['sidecarurl_desc'] = 'URL de base du service EDC Bridge, par exemple https://edc.example.org. Laissez vide pour couper l\'envoi.';
$string['source'] = 'Nom de la source';
$string['source_desc'] = 'Le nom sous lequel ce site Moodle est enregistré dans EDC Bridge, par exemple moodle-main.';
$string['tasksendcompletion'] = 'Envoyer un achèvement de cours à EDC Bridge';
$string['templatedefaults'] = 'Valeurs par défaut du modèle de cours (JSON)';
$string['templatedefaults_desc'] = 'Facultatif. Les valeurs du modèle de cours que Moodle ne contient pas (organisme certificateur, modalité, évaluation…), en JSON, au format décrit dans la documentation d\'EDC Bridge. Si elles sont renseignées, chaque envoi met aussi à jour le modèle de cours à partir du nom, du résumé, des champs personnalisés et des compétences ESCO du cours. Laissez vide si les modèles sont gérés dans EDC Bridge.';
