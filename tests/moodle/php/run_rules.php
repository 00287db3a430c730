<?php
// Test driver: runs the plugin's shared rules (multilang, rules) on every case of the shared vectors
// file and prints the results as JSON, for tests/moodle/test_rules_vectors.py to compare with the
// expected results (which the Python poller must give too).
$plugin = __DIR__ . '/../../../moodle_adapter/moodle_plugin/edcbridge/classes/local/';
foreach (['multilang', 'rules', 'field_exception', 'course_data_exception', 'learner_data_exception'] as $class) {
    require $plugin . $class . '.php';
}

use local_edcbridge\local\multilang;
use local_edcbridge\local\rules;

$cases = json_decode(file_get_contents($argv[1]), true)['cases'];
$out = [];
foreach ($cases as $case) {
    $in = $case['input'];
    try {
        switch ($case['kind']) {
            case 'language_map':
                [$map, $dropped] = multilang::language_map($in['text'], $in['default']);
                $result = ['map' => (object) $map, 'dropped' => $dropped];
                break;
            case 'render':
                $result = multilang::render($in['text'], $in['lang']);
                break;
            case 'truncate':
                $result = multilang::truncate($in['text'], $in['limit']);
                break;
            case 'template':
                $result = rules::build_template($in['course'], $in['customfields'], $in['competencies'], $in['fields'],
                    $in['defaults'], $in['policy']);
                break;
            case 'completion':
                $result = ['completion' => rules::build_completion($in['source'], $in['course_id'], $in['user'],
                    $in['timecompleted'], $in['criteria'], $in['grade'])];
                break;
            default:
                throw new RuntimeException('unknown kind ' . $case['kind']);
        }
    } catch (InvalidArgumentException $e) {
        $result = ['error' => $e->getMessage()];
    }
    $out[] = ['name' => $case['name'], 'result' => $result];
}
echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION), "\n";
