<?php
// Test driver: what the plugin's send_outbox task does for one learner, minus Moodle. Builds the
// template and the completion with the plugin's shared rules from the inputs of a case file,
// signs them with its signer and sends them to a sidecar over HTTP (PHP streams stand in for
// Moodle's \curl). Prints status and answer of each request as JSON.
// Usage: php send_to_sidecar.php <sidecar url> <case.json>; the API key comes from EDC_API_KEY.
$plugin = __DIR__ . '/../../../moodle_adapter/moodle_plugin/edcbridge/classes/local/';
foreach (['signer', 'multilang', 'rules', 'field_exception', 'course_data_exception', 'learner_data_exception'] as $class) {
    require $plugin . $class . '.php';
}

use local_edcbridge\local\rules;
use local_edcbridge\local\signer;

[$script, $base, $casefile] = $argv;
$case = json_decode(file_get_contents($casefile), true);
$apikey = getenv('EDC_API_KEY');
$built = rules::build_template($case['course'], $case['customfields'], $case['competencies'], [], $case['defaults']);
$completion = rules::build_completion($case['source'], $case['course']['id'], $case['user'], $case['timecompleted'],
    $case['criteria'], $case['grade']);

$send = function (string $method, string $path, array $payload) use ($base, $case, $apikey): array {
    $body = json_encode($payload, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
    $headers = ['Content-Type: application/json'];
    foreach (signer::headers($case['source'], $apikey, $method, $path, $body, time()) as $name => $value) {
        $headers[] = "{$name}: {$value}";
    }
    $context = stream_context_create(['http' => ['method' => $method, 'header' => implode("\r\n", $headers),
        'content' => $body, 'ignore_errors' => true, 'timeout' => 60]]);
    $answer = file_get_contents(rtrim($base, '/') . $path, false, $context);
    preg_match('~^HTTP/\S+ (\d{3})~', $http_response_header[0] ?? '', $m);
    return ['status' => (int) ($m[1] ?? 0), 'answer' => json_decode((string) $answer, true)];
};

$results = [
    'template' => $send('PUT', '/api/v1/sources/' . rawurlencode($case['source']) . '/courses/'
        . $case['course']['id'] . '/template', $built['template']),
    'completion' => $send('POST', '/api/v1/completions', $completion),
];
echo json_encode($results, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
