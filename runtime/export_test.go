package runtime

// KillEach is killCgroup's way on kernels without cgroup.kill (before
// 5.14), for the tests to take on any kernel.
var KillEach = killEach
