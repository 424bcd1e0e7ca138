// Command hook is the private raw web action (s3-trigger-feed-web/hook) that
// S3 stores deliver bucket notifications to: it checks the bearer token and
// fires the s3-notifications triggers of the bucket whose filters select
// each event.
package main
