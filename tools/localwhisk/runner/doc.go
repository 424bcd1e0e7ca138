// Package runner executes native OpenWhisk action zips as local processes with
// the actionloop protocol: it unpacks each action version once, keeps a small
// pool of warm processes per action, enforces per-activation time limits and
// captures each activation's logs. Runs that find every process of an action
// busy queue for one and are served in arrival order, each freed process
// going to exactly one of them.
//
// It plays the invoker and the Go runtime proxy together. A process is started
// with an explicit environment (init parameters, the __OW_* values, a minimal
// PATH), fd 3 as its result pipe, and must first write {"ok":true} there. Each
// activation is one JSON line on stdin and one result line on fd 3. The runner
// keeps its own write ends of the process's stdout and stderr pipes and writes
// the platform sentinel into both after each result, so the output up to the
// sentinels is exactly that activation's logs. Outcomes, messages and log line
// formats follow OpenWhisk; a developer error retires the process, as the
// invoker removes such a container.
package runner
