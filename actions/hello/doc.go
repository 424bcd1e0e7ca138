// Command hello is the sample action: given {"name": "ana"} it answers
// {"greeting": "Hello, ana!"}. Tests use it as the smallest real action zip.
package main
