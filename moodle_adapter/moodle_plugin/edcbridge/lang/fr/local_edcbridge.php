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
 * French strings for local_edcbridge.
 *
 * @package    local_edcbridge
 * @copyright  2026 EDC Bridge contributors
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['admin_attention'] = 'EDC Bridge : {$a->refused} achèvement(s) refusé(s) et {$a->failing} en échec depuis plus d\'une heure ; des apprenants attendent leur attestation.';
$string['allowblockedhosts'] = 'Contourner la sécurité HTTP de Moodle pour EDC Bridge';
$string['allowblockedhosts_desc'] = 'Les réglages de sécurité HTTP de Moodle (Administration du site › Généralités › Sécurité › Sécurité HTTP) bloquent localhost, les réseaux privés et les ports autres que 80 et 443, où EDC Bridge fonctionne souvent. Autorisez plutôt exactement l\'adresse d\'EDC Bridge : retirez de la « Liste des hôtes bloqués par cURL » l\'entrée qui couvre son hôte (pour EDC Bridge sur le même serveur : 127.0.0.0/8 et localhost) et ajoutez son port (par exemple 8080) aux « Ports autorisés par cURL ». Ne cochez cette case que si vous ne pouvez pas modifier ces réglages : l\'URL ci-dessus est alors contactée même s\'ils la bloquent.';
$string['apikey'] = 'Clé d\'API';
$string['apikey_desc'] = 'La clé d\'API créée pour cette source par l\'administrateur d\'EDC Bridge (affichée une seule fois par « edc-bridge sources add »). Elle est enregistrée chiffrée ; les requêtes sont signées avec elle et la clé elle-même n\'est jamais envoyée.';
$string['check_attention'] = '{$a->refused} achèvement(s) ont été refusés par EDC Bridge et {$a->failing} échouent depuis plus d\'une heure. Ouvrez le rapport pour voir pourquoi et réessayer.';
$string['check_notready'] = 'EDC Bridge n\'est pas configuré : les achèvements sont conservés mais pas envoyés.';
$string['check_summary'] = '{$a->sent} envoyé(s), {$a->pending} en attente, {$a->refused} refusé(s).';
$string['checkoutbox'] = 'Achèvements EDC Bridge';
$string['col_attempts'] = 'Tentatives';
$string['col_completed'] = 'Achevé le';
$string['col_next'] = 'Prochaine tentative';
$string['col_reason'] = 'Raison';
$string['col_state'] = 'État';
$string['discard'] = 'Abandonner';
$string['discard_confirm'] = 'Abandonner cet achèvement ? L\'apprenant n\'en recevra pas d\'attestation par ce plugin.';
$string['discarded'] = 'Achèvement abandonné.';
$string['error_auth'] = 'EDC Bridge a refusé la signature (HTTP {$a->status} : {$a->detail}) : vérifiez le nom de la source et la clé d\'API.';
$string['error_blocked'] = 'Les réglages de sécurité HTTP de Moodle bloquent {$a->host}:{$a->port}. Dans Administration du site › Généralités › Sécurité › Sécurité HTTP, retirez l\'entrée couvrant {$a->host} de la « Liste des hôtes bloqués par cURL » et ajoutez {$a->port} aux « Ports autorisés par cURL » (ou cochez « Contourner la sécurité HTTP de Moodle pour EDC Bridge »).';
$string['error_coursegone'] = 'Le cours n\'existe plus.';
$string['error_dns'] = 'échec de la résolution DNS (nom d\'hôte inconnu) : {$a}';
$string['error_empty'] = 'le serveur a fermé la connexion sans répondre : {$a}';
$string['error_gradeapi'] = 'La note ou l\'achèvement n\'a pas pu être lu ({$a}) ; rien n\'est envoyé sans eux, nouvel essai plus tard.';
$string['error_network'] = 'erreur réseau : {$a}';
$string['error_noid'] = 'EDC Bridge a répondu sans identifiant d\'attestation.';
$string['error_notcomplete'] = 'Moodle n\'enregistre plus ce cours comme achevé par l\'apprenant.';
$string['error_notmarked'] = 'le cours n\'est pas marqué pour les attestations (champ personnalisé « {$a} » non coché) : ses achèvements attendent';
$string['error_notsidecar'] = 'HTTP {$a->status} de {$a->url} n\'est pas une réponse d\'EDC Bridge : vérifiez l\'URL d\'EDC Bridge et tout proxy intermédiaire.';
$string['error_refused'] = 'connexion refusée (rien n\'écoute à cette adresse et ce port) : {$a}';
$string['error_reset'] = 'connexion réinitialisée : {$a}';
$string['error_status'] = 'EDC Bridge a répondu HTTP {$a->status} ({$a->detail}).';
$string['error_template'] = 'Le modèle du cours ne peut pas être construit : {$a}';
$string['error_templaterefused'] = 'EDC Bridge a refusé le modèle du cours : {$a}';
$string['error_timeout'] = 'délai dépassé : {$a}';
$string['error_tls'] = 'échec TLS (certificat ou protocole) : {$a}';
$string['error_unreachable'] = 'EDC Bridge injoignable à {$a->url} : {$a->cause}';
$string['error_usergone'] = 'Le compte de l\'apprenant n\'existe plus.';
$string['fieldects'] = 'Champ des crédits ECTS';
$string['fieldects_desc'] = 'Nom abrégé du champ personnalisé de cours contenant les crédits ECTS (par exemple 5 ou 7,5).';
$string['fieldeqf'] = 'Champ du niveau CEC';
$string['fieldeqf_desc'] = 'Nom abrégé du champ personnalisé de cours contenant le niveau CEC/EQF (1 à 8, ou « Niveau 6 »).';
$string['fieldiscedf'] = 'Champ CITE-F';
$string['fieldiscedf_desc'] = 'Nom abrégé du champ personnalisé de cours contenant le code de domaine CITE-F (ISCED-F) 2013 (4 chiffres, par exemple 0613).';
$string['fieldlang'] = 'Champ des langues';
$string['fieldlang_desc'] = 'Nom abrégé du champ personnalisé de cours listant les langues du cours (par exemple « en, fr »).';
$string['fieldskills'] = 'Champ « acquis ESCO obligatoires »';
$string['fieldskills_desc'] = 'Nom abrégé du champ personnalisé de cours (case à cocher) par lequel un cours refuse les attestations sans acquis d\'apprentissage ESCO : coché, ses achèvements attendent que ses compétences portent des aptitudes ESCO.';
$string['markerfield'] = 'Champ de marquage';
$string['markerfield_desc'] = 'Nom abrégé du champ personnalisé de cours (case à cocher) qui marque un cours pour les attestations européennes (EDC). Laissez vide pour délivrer pour tout cours avec achèvement.';
$string['messageprovider:refused'] = 'Achèvements refusés par EDC Bridge';
$string['nothing'] = 'Rien à afficher.';
$string['notify_body'] = 'EDC Bridge a refusé {$a->count} achèvement(s) de cours. Les apprenants ne recevront pas leur attestation tant que les données ne sont pas corrigées et l\'envoi relancé. Voir {$a->url}';
$string['notify_subject'] = 'EDC Bridge a refusé {$a} achèvement(s)';
$string['pluginname'] = 'EDC Bridge';
$string['privacy:metadata:core_completion'] = 'L\'achèvement du cours et ses critères sont lus pour envoyer l\'achèvement.';
$string['privacy:metadata:core_grades'] = 'La note totale du cours, telle que l\'apprenant la voit, est lue pour envoyer la note.';
$string['privacy:metadata:edcbridge_sidecar'] = 'Quand un apprenant achève un cours marqué pour les attestations, l\'achèvement est envoyé au service EDC Bridge de votre établissement, qui délivre et scelle l\'attestation européenne (EDC) de l\'apprenant et la lui envoie. Les demandes sur les attestations délivrées s\'adressent aux administrateurs de ce service.';
$string['privacy:metadata:edcbridge_sidecar:courseid'] = 'L\'identifiant du cours achevé.';
$string['privacy:metadata:edcbridge_sidecar:email'] = 'L\'adresse électronique de l\'apprenant, à laquelle l\'attestation est envoyée.';
$string['privacy:metadata:edcbridge_sidecar:firstname'] = 'Le prénom de l\'apprenant, inscrit sur l\'attestation.';
$string['privacy:metadata:edcbridge_sidecar:grade'] = 'La note totale du cours, telle que l\'apprenant la voit, et si elle est suffisante.';
$string['privacy:metadata:edcbridge_sidecar:lang'] = 'La langue préférée de l\'apprenant, pour les messages qui accompagnent l\'attestation.';
$string['privacy:metadata:edcbridge_sidecar:lastname'] = 'Le nom de l\'apprenant, inscrit sur l\'attestation.';
$string['privacy:metadata:edcbridge_sidecar:timecompleted'] = 'Le moment où le cours a été achevé.';
$string['privacy:metadata:edcbridge_sidecar:userid'] = 'L\'identifiant de l\'apprenant, pour qu\'un même achèvement ne donne jamais deux attestations.';
$string['privacy:metadata:outbox'] = 'Achèvements de cours en attente d\'envoi à EDC Bridge, ou déjà envoyés, un par cours et par apprenant.';
$string['privacy:metadata:outbox:attempts'] = 'Le nombre de tentatives d\'envoi.';
$string['privacy:metadata:outbox:courseid'] = 'Le cours achevé.';
$string['privacy:metadata:outbox:credentialid'] = 'L\'identifiant de l\'attestation délivrée par EDC Bridge.';
$string['privacy:metadata:outbox:lasterror'] = 'Pourquoi la dernière tentative n\'a pas abouti.';
$string['privacy:metadata:outbox:state'] = 'Si l\'achèvement est en attente, envoyé ou refusé.';
$string['privacy:metadata:outbox:timecompleted'] = 'Quand le cours a été achevé.';
$string['privacy:metadata:outbox:timecreated'] = 'Quand l\'achèvement a été mis en file d\'attente.';
$string['privacy:metadata:outbox:timemodified'] = 'Quand la ligne a changé pour la dernière fois.';
$string['privacy:metadata:outbox:userid'] = 'L\'apprenant.';
$string['problem_apikeydecrypt'] = 'La clé d\'API ne peut pas être déchiffrée (la clé de chiffrement du site a changé) : saisissez-la à nouveau.';
$string['problem_defaultsbody'] = 'Les valeurs par défaut du modèle de cours ne nomment pas d\'organisme de délivrance (« awarding_body » avec au moins « legal_name »).';
$string['problem_defaultsjson'] = 'Les valeurs par défaut du modèle de cours ne sont pas un objet JSON : {$a}';
$string['problem_noapikey'] = 'Aucune clé d\'API n\'est définie.';
$string['problem_nodefaults'] = 'Aucune valeur par défaut du modèle de cours n\'est définie (au moins l\'organisme de délivrance).';
$string['problem_nosource'] = 'Aucun nom de source n\'est défini.';
$string['problem_nourl'] = 'Aucune URL d\'EDC Bridge n\'est définie.';
$string['report'] = 'Achèvements EDC Bridge';
$string['retried'] = '{$a} achèvement(s) seront envoyés au prochain passage du cron.';
$string['retry'] = 'Réessayer';
$string['retryall'] = 'Tout réessayer';
$string['show_all'] = 'Tous';
$string['show_attention'] = 'À traiter';
$string['show_pending'] = 'En attente';
$string['show_sent'] = 'Envoyés';
$string['sidecarurl'] = 'URL d\'EDC Bridge';
$string['sidecarurl_desc'] = 'URL de base du service EDC Bridge, par exemple https://edc.example.org. Tant qu\'elle est vide, les achèvements sont conservés, pas envoyés.';
$string['source'] = 'Nom de la source';
$string['source_desc'] = 'Le nom sous lequel ce site Moodle est enregistré dans EDC Bridge, par exemple moodle-main.';
$string['state_pending'] = 'En attente';
$string['state_refused'] = 'Refusé';
$string['state_sent'] = 'Envoyé';
$string['tasksendoutbox'] = 'Envoyer les achèvements de cours à EDC Bridge';
$string['teacher_heading'] = 'Attestations européennes (EDC) :';
$string['teacher_held'] = 'les attestations de ce cours sont retenues : {$a}';
$string['teacher_nocompletion'] = 'le suivi d\'achèvement est désactivé dans ce cours : personne ne peut l\'achever.';
$string['teacher_noskills'] = 'aucune compétence de ce cours ne porte d\'aptitude ESCO : ses attestations ne listeront aucun acquis d\'apprentissage. Ajoutez des compétences ESCO (Plus › Compétences).';
$string['templatedefaults'] = 'Valeurs par défaut du modèle de cours (JSON)';
$string['templatedefaults_desc'] = 'Ce que Moodle ne sait pas enregistrer, en JSON au format des modèles d\'EDC Bridge : au moins l\'organisme de délivrance, par exemple {"awarding_body": {"legal_name": {"fr": "Université Exemple"}, "legal_identifier": "123456789", "country": "FR", "homepage": "https://univ.example"}, "mode": "online", "learning_setting": "non-formal", "languages": ["fr"], "policy": {"issue_when": "passed"}}. Le nom, le résumé, les champs personnalisés et les compétences ESCO de chaque cours le complètent.';
$string['timeout'] = 'Délai d\'attente (secondes)';
$string['timeout_desc'] = 'Combien de temps attendre EDC Bridge avant de réessayer plus tard.';
