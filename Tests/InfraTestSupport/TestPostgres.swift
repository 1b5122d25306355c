import Foundation
#if canImport(Glibc)
import Glibc
#endif
import InfraApp
import InfraDomain

/// A private PostgreSQL cluster for the tests of this process: `initdb` into a temporary folder, started with
/// `pg_ctl` listening on a unix socket in that folder only (no TCP), as an unprivileged account (`postgres`
/// when the tests run as root, else the current user). It is started once, lazily, by the first test that asks
/// for a database, shared by every suite, and stopped by its postmaster's PID when the process exits (the
/// folder removed). Each test gets a fresh database of its own (``freshDatabase()``), dropped afterwards.
///
/// Its superuser is `postgres`; the socket trusts every local login (`local all all trust`), which is safe for a
/// socket in a 0700 folder of its own.
public enum TestPostgres {
    /// Why the PostgreSQL tests are skipped here.
    public static let missingReason = "PostgreSQL server binaries not found: apt-get install postgresql (scripts/install-deps.sh installs it)"

    /// The newest installed server's binaries (`/usr/lib/postgresql/VERSION/bin`), nil when none is installed.
    public static let binaries: String? = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.reversed().map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }()

    /// Whether a cluster can be started here (initdb and pg_ctl are installed).
    public static var available: Bool { binaries != nil }

    /// The superuser of the private cluster.
    public static let superuser = "postgres"

    /// One running private cluster.
    public struct Cluster: Sendable {
        /// The temporary folder: the data directory, the socket and the log are inside.
        public let folder: String
        /// The socket file (`FOLDER/.s.PGSQL.PORT`).
        public let socketPath: String
        /// The TCP port on 127.0.0.1, when the cluster listens there too (nil: socket only).
        public let tcpPort: Int?
        /// The postmaster's process id, read from `postmaster.pid` after the start.
        public let pid: pid_t

        /// Runs `sql` (one or more statements) through `psql` as the superuser in `database`; returns its output
        /// (unaligned, tuples only) or throws with psql's error text.
        @discardableResult
        public func sql(_ sql: String, database: String = "postgres", user: String = TestPostgres.superuser) throws -> String {
            let psql = (TestPostgres.binaries ?? "/usr/bin") + "/psql"
            let outcome = try ChildProcess.runBlocking(psql, ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", folder, "-p", String(tcpPort ?? 5432), "-U", user,
                                                              "-d", database, "-c", sql])
            guard outcome.status == 0 else { throw Failure(description: "psql failed (\(outcome.status)): \(outcome.stderr)") }
            return outcome.stdout
        }

        /// Stops the postmaster by its PID (SIGINT: PostgreSQL's fast shutdown), waits for it to be gone, and
        /// removes the folder.
        public func stop() {
            if kill(pid, SIGINT) == 0 {
                let deadline = Date().addingTimeInterval(30)
                while kill(pid, 0) == 0 && Date() < deadline { usleep(10_000) }
                if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
            }
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    /// A fresh database of one test in the shared cluster.
    public struct Database: Sendable {
        /// The cluster it lives in.
        public let cluster: Cluster
        /// Its name.
        public let name: String

        /// The database `name` in `cluster` (which must exist).
        public init(cluster: Cluster, name: String) {
            self.cluster = cluster
            self.name = name
        }

        /// The socket file to connect to.
        public var socketPath: String { cluster.socketPath }
        /// Where another process finds it (``TestPostgres/parse(location:)`` reads it back).
        public var location: String { "\(cluster.socketPath)|\(TestPostgres.superuser)|\(name)" }

        /// Runs `sql` as the superuser in this database (see ``Cluster/sql(_:database:user:)``).
        @discardableResult
        public func sql(_ sql: String, user: String = TestPostgres.superuser) throws -> String {
            try cluster.sql(sql, database: name, user: user)
        }

        /// Drops the database, ending the connections still open on it (pools that were never closed).
        public func drop() {
            _ = try? cluster.sql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    /// What went wrong starting or using the cluster.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String

        /// A failure saying `description`.
        public init(description: String) {
            self.description = description
        }
    }

    /// A new, empty database in the shared cluster (started on first use).
    public static func freshDatabase() throws -> Database {
        let cluster = try sharedCluster()
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try cluster.sql("CREATE DATABASE \(name)")
        return Database(cluster: cluster, name: name)
    }

    /// The cluster every suite of this process shares (started on first use).
    public static func sharedCluster() throws -> Cluster {
        try shared.get()
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0).
    public static func freeTCPPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket(): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw Failure(description: "bind(127.0.0.1:0): \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Hands `path` to the account the cluster runs as (when the tests run as root) with `mode`.
    public static func handToServer(_ path: String, mode: mode_t) throws {
        if getuid() == 0, let account = getpwnam("postgres") {
            guard chown(path, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
                throw Failure(description: "chown \(path): \(String(cString: strerror(errno)))")
            }
        }
        guard chmod(path, mode) == 0 else { throw Failure(description: "chmod \(path): \(String(cString: strerror(errno)))") }
    }

    /// The product's URL of a login and database on the unix socket file `socketPath` (`FOLDER/.s.PGSQL.PORT`).
    public static func url(socketPath: String, user: String, database: String) -> DatabaseURL {
        let folder = (socketPath as NSString).deletingLastPathComponent
        let port = Int(socketPath.split(separator: ".").last ?? "") ?? 5432
        return DatabaseURL(address: .unixSocket(folder: folder, port: port), user: user, database: database, tls: .disable)
    }

    /// The socket path, user and database name of a ``Database/location``.
    public static func parse(location: String) -> (socketPath: String, user: String, database: String)? {
        let parts = location.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return nil }
        return (parts[0], parts[1], parts[2])
    }

    /// The cluster every suite of this process shares, started once.
    static let shared: Result<Cluster, any Error> = Result {
        let cluster = try start()
        running = cluster
        atexit { TestPostgres.running?.stop() }
        return cluster
    }

    nonisolated(unsafe) static var running: Cluster?

    /// Starts a cluster of its own: socket only, or also TCP on 127.0.0.1 at `tcpPort`; `configure` is called
    /// with the data directory after initdb (to add certificates, settings), as the account the server runs as
    /// owns the folder afterwards. The caller stops it (``Cluster/stop()``).
    public static func start(tcpPort: Int? = nil, settings: [String] = [], configure: (String) throws -> Void = { _ in }) throws -> Cluster {
        guard let binaries else { throw Failure(description: missingReason) }
        let folder = "/tmp/pg-" + UUID().uuidString.lowercased().prefix(13).replacingOccurrences(of: "-", with: "")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        do {
            let data = folder + "/data"
            let asRoot = getuid() == 0
            func run(_ program: String, _ arguments: [String]) throws {
                let executable = asRoot ? "/usr/sbin/runuser" : binaries + "/" + program
                let argv = asRoot ? ["-u", "postgres", "--", binaries + "/" + program] + arguments : arguments
                let child = try ChildProcess.start(executable, argv, currentDirectory: folder, stdout: folder + "/\(program).out",
                                                   stderr: folder + "/\(program).err")
                let status = child.waitBlocking()
                guard status == 0 else {
                    let errors = (try? String(contentsOfFile: folder + "/\(program).err", encoding: .utf8)) ?? ""
                    let log = (try? String(contentsOfFile: folder + "/server.log", encoding: .utf8)) ?? ""
                    throw Failure(description: "\(program) exited \(status): \(errors) \(log.suffix(2000))")
                }
            }
            if asRoot {
                guard let account = getpwnam("postgres") else { throw Failure(description: "no postgres account to run the test cluster as") }
                guard chown(folder, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
                    throw Failure(description: "cannot hand \(folder) to the postgres account: \(String(cString: strerror(errno)))")
                }
            }
            try run("initdb", ["-D", data, "-U", superuser, "--auth=trust", "--no-sync", "--locale=C", "-E", "UTF8"])
            let listen = tcpPort == nil ? "''" : "'127.0.0.1'"
            let lines = ["listen_addresses = \(listen)", "port = \(tcpPort ?? 5432)", "unix_socket_directories = '\(folder)'",
                         "fsync = off", "synchronous_commit = off", "full_page_writes = off", "max_connections = 300"] + settings
            let conf = try FileHandle(forWritingTo: URL(fileURLWithPath: data + "/postgresql.conf"))
            conf.seekToEndOfFile()
            conf.write(Data(("\n" + lines.joined(separator: "\n") + "\n").utf8))
            try conf.close()
            try configure(data)
            try run("pg_ctl", ["-D", data, "-l", folder + "/server.log", "-w", "-t", "60", "start"])
            let pidText = try String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8)
            guard let pid = pidText.split(separator: "\n").first.flatMap({ pid_t($0) }) else {
                throw Failure(description: "no PID in \(data)/postmaster.pid")
            }
            return Cluster(folder: folder, socketPath: folder + "/.s.PGSQL.\(tcpPort ?? 5432)", tcpPort: tcpPort, pid: pid)
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
    }
}
