// Package deploy deploys and undeploys a wskdeploy manifest (the subset
// whiskfeed uses) against any OpenWhisk API, sending the same requests in the
// same order as the real wskdeploy, so that the demo and CI need no Apache
// module. It backs `localwhisk deploy -m manifest.yaml` and `localwhisk
// undeploy -m manifest.yaml`.
//
// Deploy creates, in this order, packages, dependency bindings, actions,
// triggers (feed triggers through the feed protocol) and rules (always
// activated); Undeploy removes rules, feed triggers, plain triggers, actions,
// packages and bindings. Keys of the manifest format that are not supported
// are rejected with a *ManifestError naming the key and its line.
package deploy
