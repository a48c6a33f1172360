<?php
/**
 * Plugin Name: ImbaChat on your own server
 * Description: Makes the ImbaChat plugin use your imbachat server instead of the hosted
 *              service, without editing the plugin. Drop this file into
 *              wp-content/mu-plugins/ and set IMBACHAT_SERVER below.
 * Version:     1.0
 */

// Your imbachat server: scheme and host (and a path, if it is served under one), no
// trailing slash.
if (!defined('IMBACHAT_SERVER')) {
    define('IMBACHAT_SERVER', 'https://chat.example.com');
}

/**
 * The same address on your server, for an address of the hosted service (any host
 * under imbachat.com); null for any other address.
 */
function imbachat_self_hosted_url($url)
{
    $parts = wp_parse_url($url);
    if (empty($parts['host']) || !preg_match('/(^|\.)imbachat\.com$/i', $parts['host'])) {
        return null;
    }
    $path = isset($parts['path']) ? $parts['path'] : '/';
    $query = isset($parts['query']) ? '?' . $parts['query'] : '';
    return IMBACHAT_SERVER . $path . $query;
}

// The widget's script: every page that shows the chat loads it from your server.
add_filter('script_loader_src', function ($src) {
    $ours = imbachat_self_hosted_url($src);
    return $ours === null ? $src : $ours;
}, 10, 1);

// Calls the plugin makes from PHP to the hosted API go to your server too.
add_filter('pre_http_request', function ($preempt, $args, $url) {
    $ours = imbachat_self_hosted_url($url);
    if ($ours === null || $preempt !== false) {
        return $preempt;
    }
    return wp_remote_request($ours, $args);
}, 10, 3);
