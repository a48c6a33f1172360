"""The must-use plugin of docs/wordpress.md, run by PHP with the two WordPress
filters it hooks stubbed: the hosted widget script and hosted API calls go to the
configured server, everything else is left alone."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import service_missing

PLUGIN = Path(__file__).resolve().parents[2] / "examples" / "wordpress" / "imbachat-self-hosted.php"
HARNESS = r"""<?php
$filters = [];
function add_filter($name, $callback, $priority = 10, $args = 1) {
    global $filters; $filters[$name] = $callback;
}
function wp_parse_url($url) { return parse_url($url); }
function wp_remote_request($url, $args) { return ['sent_to' => $url, 'args' => $args]; }
define('IMBACHAT_SERVER', 'https://chat.example.com');
require $argv[1];
$script = $filters['script_loader_src'];
$http = $filters['pre_http_request'];
echo json_encode([
    'hosted_script' => $script('https://api.imbachat.com/imbachat/v1/627/widget?ver=6.4'),
    'bare_host' => $script('https://imbachat.com/imbachat/v1/627/widget'),
    'other_script' => $script('https://cdn.example.org/jquery.js'),
    'lookalike' => $script('https://notimbachat.com/imbachat/v1/627/widget'),
    'hosted_call' => $http(false, ['method' => 'POST'], 'https://api.imbachat.com/imbachat/v1/widget/imba_rooms'),
    'other_call' => $http(false, [], 'https://wordpress.org/plugins/'),
]);
"""


def test_the_mu_plugin_points_the_hosted_addresses_at_your_server(tmp_path: Path) -> None:
    php = shutil.which("php")
    if php is None:
        service_missing("php is not installed (apt-get install php-cli)")
    harness = tmp_path / "harness.php"
    harness.write_text(HARNESS)

    ran = subprocess.run(
        [php, str(harness), str(PLUGIN)], capture_output=True, text=True, timeout=60
    )

    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert out["hosted_script"] == "https://chat.example.com/imbachat/v1/627/widget?ver=6.4"
    assert out["bare_host"] == "https://chat.example.com/imbachat/v1/627/widget"
    assert out["other_script"] == "https://cdn.example.org/jquery.js"
    assert out["lookalike"] == "https://notimbachat.com/imbachat/v1/627/widget"
    assert out["hosted_call"]["sent_to"] == (
        "https://chat.example.com/imbachat/v1/widget/imba_rooms"
    )
    assert out["other_call"] is False  # not ours: WordPress sends it as usual
    assert subprocess.run([php, "-l", str(PLUGIN)], capture_output=True).returncode == 0
