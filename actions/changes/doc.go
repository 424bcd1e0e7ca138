// Command changes is the public feed action of polling S3 triggers
// (s3-trigger-feed/changes): it holds no secret and forwards each lifecycle
// request to the private lifecycle web action.
package main
