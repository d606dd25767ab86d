import Foundation
import HotpotCore
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hotpot's private PostgreSQL server, used whenever no `DATABASE_URL` is given.
///
/// Layout under the home directory:
/// - `pgdata/`      the cluster, created by `initdb` on first use (owned by the server's user)
/// - `credentials`  superuser name and password, readable by the owner only
/// - `postgres.log` the server's log
/// - `launcher.lock` serializes start-ups across processes, so a server is never started twice
public struct EmbeddedPostgres: Sendable {
    public var home: URL
    public var logger: Logger
    /// Settings appended to postgresql.conf when the cluster is created.
    public var extraSettings: [String: String]

    public static let databaseName = "hotpot"
    /// Given at every start, so clusters made by earlier versions get them too: logical WAL, which a
    /// tenant moving away needs (`hotpot tenant move`, docs/scale-out.md), and room for the workers and
    /// slots of a few moves at once (a move's initial copy runs up to six tables side by side).
    static let serverOptions = "-c wal_level=logical -c max_worker_processes=24 -c max_logical_replication_workers=16 "
        + "-c max_sync_workers_per_subscription=6 -c max_replication_slots=32 -c max_wal_senders=32"

    public init(home: URL, extraSettings: [String: String] = [:], logger: Logger) {
        self.home = home
        self.extraSettings = extraSettings
        self.logger = logger
    }

    public struct Running: Sendable {
        public var connection: ConnectionSettings
        /// True when this process started the server (and so should stop it).
        public var startedHere: Bool
        public var dataDirectory: URL
        public var binaries: PostgresBinaries
        public var runAs: String?
        /// The launcher that started it, for restarts.
        public var launcher: EmbeddedPostgres

        /// Stops the server (fast shutdown: open sessions are rolled back), waiting for it to exit.
        public func stop() throws {
            try runTool(binaries.path("pg_ctl"), ["stop", "-D", dataDirectory.path, "-m", "fast", "-w", "-t", "60"], runAs: runAs)
        }

        /// A streaming replica of this server, made with `pg_basebackup -R` into `home` and started on a
        /// free port (a hot standby: it answers read-only queries). For tests and benchmarks of read
        /// replicas; a standby already running there is reused, else a new copy is made.
        public func startStandby(home: URL) throws -> Running {
            let standby = EmbeddedPostgres(home: home, logger: launcher.logger)
            let fm = FileManager.default
            try fm.createDirectory(at: home, withIntermediateDirectories: true)
            chmod(home.path, runAs == nil ? 0o700 : 0o711)
            let data = standby.dataDirectory
            if let port = standby.runningServerPort() {
                var settings = connection
                settings.port = port
                return Running(connection: settings, startedHere: false, dataDirectory: data, binaries: binaries, runAs: runAs, launcher: standby)
            }
            // A fresh copy each time: an old one may need WAL the primary no longer keeps.
            if fm.fileExists(atPath: data.path) { try fm.removeItem(at: data) }
            try fm.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try standby.chownToServerUser(data, runAs: runAs)
            let conninfo = "host=\(connection.host) port=\(connection.port) user=\(connection.username) password=\(connection.password ?? "")"
            _ = try runTool(binaries.path("pg_basebackup"), ["-d", conninfo, "-D", data.path, "-R", "-X", "stream", "-c", "fast"], runAs: runAs)
            let port = try freeLocalPort()
            if !fm.fileExists(atPath: standby.logFile.path) { _ = fm.createFile(atPath: standby.logFile.path, contents: nil) }
            try standby.chownToServerUser(standby.logFile, runAs: runAs)
            _ = try runTool(binaries.path("pg_ctl"), ["start", "-D", data.path, "-l", standby.logFile.path, "-w", "-t", "60", "-o", "-p \(port) \(EmbeddedPostgres.serverOptions)"], runAs: runAs)
            var settings = connection
            settings.port = port
            return Running(connection: settings, startedHere: true, dataDirectory: data, binaries: binaries, runAs: runAs, launcher: standby)
        }
    }

    var dataDirectory: URL { home.appendingPathComponent("pgdata") }
    var credentialsFile: URL { home.appendingPathComponent("credentials") }
    var logFile: URL { home.appendingPathComponent("postgres.log") }

    /// Starts the server, or reuses the one already running on this home directory.
    public func start() throws -> Running {
        let binaries = try PostgresBinaries.locate()
        let runAs = try serverUser()
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        // The server's user must be able to reach pgdata/ when we run it as someone else.
        chmod(home.path, runAs == nil ? 0o700 : 0o711)

        let lock = try FileLock(path: home.appendingPathComponent("launcher.lock").path)
        defer { lock.unlock() }

        let credentials = try loadOrCreateCredentials()
        if !FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
            try initializeCluster(binaries: binaries, credentials: credentials, runAs: runAs)
        }
        if let port = runningServerPort() {
            logger.info("reusing the embedded PostgreSQL server", metadata: ["port": "\(port)", "data": "\(dataDirectory.path)"])
            let connection = ConnectionSettings(host: "127.0.0.1", port: port, username: credentials.username, password: credentials.password, database: Self.databaseName)
            return Running(connection: connection, startedHere: false, dataDirectory: dataDirectory, binaries: binaries, runAs: runAs, launcher: self)
        }
        let port = try freeLocalPort()
        logger.info("starting the embedded PostgreSQL server", metadata: ["port": "\(port)", "data": "\(dataDirectory.path)"])
        if !FileManager.default.fileExists(atPath: logFile.path) {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        }
        try chownToServerUser(logFile, runAs: runAs)
        do {
            try runTool(binaries.path("pg_ctl"), [
                "start", "-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "60",
                "-o", "-p \(port) \(EmbeddedPostgres.serverOptions)",
            ], runAs: runAs)
        } catch {
            let tail = (try? String(contentsOf: logFile, encoding: .utf8))?.split(separator: "\n").suffix(5).joined(separator: "\n") ?? ""
            throw HotpotError.configuration("the embedded PostgreSQL server did not start: \(error)\n\(tail)")
        }
        let connection = ConnectionSettings(host: "127.0.0.1", port: port, username: credentials.username, password: credentials.password, database: Self.databaseName)
        return Running(connection: connection, startedHere: true, dataDirectory: dataDirectory, binaries: binaries, runAs: runAs, launcher: self)
    }

    /// Starts the server again on `port` after it exited, unless another process already has: the
    /// port stays the same, so connection settings handed out before remain valid.
    func restart(port: Int) throws {
        let binaries = try PostgresBinaries.locate()
        let runAs = try serverUser()
        let lock = try FileLock(path: home.appendingPathComponent("launcher.lock").path)
        defer { lock.unlock() }
        guard runningServerPort() == nil else { return }
        do {
            try runTool(binaries.path("pg_ctl"), [
                "start", "-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "60", "-o", "-p \(port) \(EmbeddedPostgres.serverOptions)",
            ], runAs: runAs)
        } catch {
            let tail = (try? String(contentsOf: logFile, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: "\n") ?? ""
            throw HotpotError.configuration("pg_ctl start failed: \(error)\n\(tail)")
        }
    }

    /// The port of a live server on this data directory, if one is running (left by a crash or
    /// started by another Hotpot process).
    func runningServerPort() -> Int? {
        let pidFile = dataDirectory.appendingPathComponent("postmaster.pid")
        guard let text = try? String(contentsOf: pidFile, encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 3, let pid = Int32(lines[0].trimmingWhitespace()), let port = Int(lines[3].trimmingWhitespace()) else { return nil }
        guard kill(pid, 0) == 0 || errno == EPERM else { return nil }
        // A recycled PID could belong to something else: the server must also answer on its port.
        guard canConnect(port: port) else { return nil }
        return port
    }

    struct Credentials: Codable {
        var username: String
        var password: String
    }

    func loadOrCreateCredentials() throws -> Credentials {
        if let data = try? Data(contentsOf: credentialsFile) {
            return try JSONDecoder().decode(Credentials.self, from: data)
        }
        let credentials = Credentials(username: "hotpot", password: randomToken(length: 32))
        let data = try JSONEncoder().encode(credentials)
        guard FileManager.default.createFile(atPath: credentialsFile.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw HotpotError.configuration("cannot write \(credentialsFile.path)")
        }
        return credentials
    }

    func initializeCluster(binaries: PostgresBinaries, credentials: Credentials, runAs: String?) throws {
        logger.info("creating the embedded PostgreSQL cluster", metadata: ["data": "\(dataDirectory.path)"])
        let fm = FileManager.default
        if fm.fileExists(atPath: dataDirectory.path) { try fm.removeItem(at: dataDirectory) }
        try fm.createDirectory(at: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try chownToServerUser(dataDirectory, runAs: runAs)
        // initdb reads the password from a file; it lives only for the duration of the call.
        let passwordFile = home.appendingPathComponent("initdb-password-\(getpid())")
        guard fm.createFile(atPath: passwordFile.path, contents: Data(credentials.password.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw HotpotError.configuration("cannot write \(passwordFile.path)")
        }
        defer { try? fm.removeItem(at: passwordFile) }
        try chownToServerUser(passwordFile, runAs: runAs)
        try runTool(binaries.path("initdb"), [
            "-D", dataDirectory.path, "-U", credentials.username, "--pwfile=\(passwordFile.path)",
            "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions",
        ], runAs: runAs)
        var settings: [String: String] = [
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "''",
            "max_connections": "300",
            "shared_buffers": "'256MB'",
            "password_encryption": "'scram-sha-256'",
            "log_min_messages": "warning",
            "timezone": "'UTC'",
            // Large imports write a lot of WAL in one transaction; fewer forced checkpoints.
            "max_wal_size": "'4GB'",
        ]
        settings.merge(extraSettings) { _, new in new }
        let configuration = "\n# Hotpot's embedded server\n" + settings.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: "\n") + "\n"
        let configFile = dataDirectory.appendingPathComponent("postgresql.conf")
        let handle = try FileHandle(forWritingTo: configFile)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(configuration.utf8))
        try handle.close()
    }

    /// PostgreSQL refuses to run as root; as root we run it as the `postgres` user.
    func serverUser() throws -> String? {
        guard geteuid() == 0 else { return nil }
        guard getpwnam("postgres") != nil else {
            throw HotpotError.configuration("running as root, Hotpot starts PostgreSQL as the 'postgres' user, which does not exist: install the postgresql package or run Hotpot as a normal user")
        }
        return "postgres"
    }

    func chownToServerUser(_ url: URL, runAs: String?) throws {
        guard let runAs, let entry = getpwnam(runAs) else { return }
        guard chown(url.path, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
            throw HotpotError.configuration("cannot hand \(url.path) to user \(runAs): \(String(cString: strerror(errno)))")
        }
    }
}

/// Where to connect, however the server was found.
public struct ConnectionSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool

    public init(host: String, port: Int, username: String, password: String?, database: String, requireTLS: Bool = false) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.requireTLS = requireTLS
    }

    /// Parses `postgres://user:password@host:port/database?sslmode=require`.
    public init(url string: String) throws {
        guard let components = URLComponents(string: string), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw HotpotError.configuration("DATABASE_URL must look like postgres://user:password@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw HotpotError.configuration("DATABASE_URL has no host")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        self.init(
            host: host,
            port: components.port ?? 5432,
            username: components.user?.removingPercentEncoding ?? "postgres",
            password: components.password?.removingPercentEncoding,
            database: database.isEmpty ? "postgres" : database,
            requireTLS: components.queryItems?.contains { $0.name == "sslmode" && ["require", "verify-ca", "verify-full"].contains($0.value ?? "") } ?? false
        )
    }

    public func with(username: String, password: String?) -> ConnectionSettings {
        var copy = self
        copy.username = username
        copy.password = password
        return copy
    }

    public func with(database: String) -> ConnectionSettings {
        var copy = self
        copy.database = database
        return copy
    }
}

/// The PostgreSQL server programs: found on PATH, via `pg_config --bindir`, or under /usr/lib/postgresql.
public struct PostgresBinaries: Sendable {
    public var directory: URL

    public func path(_ tool: String) -> String { directory.appendingPathComponent(tool).path }

    public static func locate() throws -> PostgresBinaries {
        let fm = FileManager.default
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["HOTPOT_PG_BINDIR"] { candidates.append(URL(fileURLWithPath: override)) }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append(URL(fileURLWithPath: String(dir)))
        }
        if let bindir = try? captureTool("pg_config", ["--bindir"]) {
            candidates.append(URL(fileURLWithPath: bindir.trimmingWhitespace()))
        }
        if let versions = try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
            for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
                candidates.append(URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin"))
            }
        }
        for candidate in candidates {
            let initdb = candidate.appendingPathComponent("initdb")
            if fm.isExecutableFile(atPath: initdb.path) && fm.isExecutableFile(atPath: candidate.appendingPathComponent("pg_ctl").path) {
                // /usr/local/bin often holds symlinks into the real bin directory, next to `postgres`.
                return PostgresBinaries(directory: initdb.resolvingSymlinksInPath().deletingLastPathComponent())
            }
        }
        throw HotpotError.configuration("PostgreSQL server programs (initdb, pg_ctl) were not found: install them (Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL to use an existing server.")
    }
}

/// Runs a program to completion, optionally as another user (via runuser), failing with its output.
/// Output goes to a temporary file, not a pipe: the PostgreSQL server that `pg_ctl start` leaves behind
/// may inherit descriptors, and a pipe it inherited would never report end-of-file.
@discardableResult
func runTool(_ path: String, _ arguments: [String], runAs: String? = nil) throws -> String {
    var argv = [path] + arguments
    if let runAs {
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/runuser"
        argv = [runuser, "-u", runAs, "--"] + argv
    }
    let outputPath = NSTemporaryDirectory() + "/hotpot-tool-\(getpid())-\(randomHex(bytes: 6)).out"
    defer { unlink(outputPath) }
    let (status, output) = try spawnAndWait(argv, outputPath: outputPath)
    guard status == 0 else {
        throw HotpotError.configuration("\(URL(fileURLWithPath: path).lastPathComponent) failed (exit \(status)): \(output.trimmingWhitespace())")
    }
    return output
}

/// posix_spawn + waitpid: Foundation's Process can miss the exit of a child whose own children live on
/// (pg_ctl's server), which left `pg_ctl start` waiting forever. The child gets no descriptor but its
/// standard input and output: NIO's sockets are not close-on-exec, and a PostgreSQL server started
/// while one was open kept it open for its whole life, so closing that connection (a tenant move's
/// lock, an HTTP client's keep-alive) no longer reached the other end.
func spawnAndWait(_ argv: [String], outputPath: String) throws -> (Int32, String) {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    try closeInheritedDescriptors(&actions)
    var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for pointer in cArguments { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
    guard spawned == 0 else {
        throw HotpotError.configuration("cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 {
        guard errno == EINTR else { throw HotpotError.configuration("waiting for \(argv[0]) failed: \(String(cString: strerror(errno)))") }
    }
    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    // WIFEXITED / WEXITSTATUS, which Swift does not import as functions.
    let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exitCode, output)
}

/// Adds "close every descriptor from 3 up" to a spawn's file actions: glibc (2.34+) has it as
/// `posix_spawn_file_actions_addclosefrom_np`, which Swift does not import, so it is looked up.
private func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) throws {
    #if canImport(Glibc)
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
        throw HotpotError.configuration("this C library cannot keep open descriptors from child processes (glibc 2.34 or newer is needed)")
    }
    let addCloseFrom = unsafeBitCast(symbol, to: AddCloseFrom.self)
    let result = addCloseFrom(&actions, 3)
    guard result == 0 else { throw HotpotError.configuration("posix_spawn_file_actions_addclosefrom_np: \(String(cString: strerror(result)))") }
    #endif
}

/// Runs a program found on PATH and returns its standard output.
func captureTool(_ name: String, _ arguments: [String]) throws -> String {
    let outputPath = NSTemporaryDirectory() + "/hotpot-tool-\(getpid())-\(randomHex(bytes: 6)).out"
    defer { unlink(outputPath) }
    let (status, output) = try spawnAndWait(["/usr/bin/env", name] + arguments, outputPath: outputPath)
    guard status == 0 else { throw HotpotError.configuration("\(name) failed") }
    return output
}

/// An exclusive advisory lock on a file, held until `unlock()` (or process exit).
struct FileLock {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = open(path, O_CREAT | O_RDWR, 0o600)
        guard descriptor >= 0 else { throw HotpotError.configuration("cannot open lock file \(path)") }
        guard flock(descriptor, LOCK_EX) == 0 else { throw HotpotError.configuration("cannot lock \(path)") }
    }

    func unlock() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
func freeLocalPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HotpotError.configuration("cannot open a socket to find a free port") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw HotpotError.configuration("cannot bind a socket to find a free port") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw HotpotError.configuration("cannot read the free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return result == 0
}
