import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts `executable` with posix_spawn: stdin from /dev/null, stdout and stderr on the given
/// descriptors, no other descriptor, and an empty signal mask with default dispositions.
///
/// The reset matters: the test runner blocks or handles signals in its threads, and a child (or a
/// daemon a script leaves running) that inherited that mask ignores SIGTERM and can only be
/// SIGKILLed. posix_spawn + waitpid rather than Foundation's Process, whose `waitUntilExit` was
/// seen to hang here.
public func spawnChild(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       stdout: Int32, stderr: Int32) throws(HarnessError) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, stdout, 1)
    posix_spawn_file_actions_adddup2(&actions, stderr, 2)
    // Nothing else of the test process: its listening sockets (an in-process cloud's HTTP port)
    // inherited by a broker started meanwhile kept accepting connections there after the test's
    // server closed, and parallel suites saw resets and hangs.
    _ = closeFrom3?(&actions, 3)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for pointer in env { free(pointer) } }
    var child: pid_t = 0
    let rc = posix_spawn(&child, executable, &actions, &attributes, argv, env)
    guard rc == 0 else { throw HarnessError("cannot start \(executable): \(String(cString: strerror(rc)))") }
    return child
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later; Swift's Glibc module does
/// not import it), looked up once; nil on an older libc.
private let closeFrom3: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
}()
