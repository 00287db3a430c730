<?php
// Test driver: runs the plugin's payload builder on the cases of a JSON file and prints each
// result (or the exception message) as JSON, for tests/moodle/test_moodle_plugin.py to check and
// to compare with the Python poller's builders.
require __DIR__ . '/../../../moodle_adapter/moodle_plugin/edcbridge/classes/local/payload_builder.php';

use local_edcbridge\local\payload_builder;

$cases = json_decode(file_get_contents($argv[1]), true);
$out = [];
foreach ($cases as $name => $case) {
    $builder = new payload_builder($case['source'] ?? 'moodle-main', $case['fields'] ?? []);
    try {
        if ($case['kind'] === 'template') {
            $result = $builder->build_template($case['course'], $case['customfields'], $case['competencies'],
                $case['defaults']);
        } else {
            $result = $builder->build_completion($case['courseid'], $case['user'], $case['grade'],
                $case['timecompleted']);
        }
        $out[$name] = ['result' => $result];
    } catch (InvalidArgumentException $e) {
        $out[$name] = ['error' => $e->getMessage()];
    }
}
echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
