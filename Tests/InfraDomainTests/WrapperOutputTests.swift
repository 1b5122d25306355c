import InfraDomain
import Testing

@Suite("Typed readings of mcp-wrapper output")
struct WrapperOutputTests {
    @Test("System info from os-release, uname -snrvmo and /proc uptime/loadavg")
    func systemInfo() {
        let info = WrapperOutput.systemInfo(
            osRelease: "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
            uname: "Linux web1 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01) x86_64 GNU/Linux\n",
            uptime: "12345.67 24000.00\n0.15 0.10 0.05 1/123 4567\n")
        #expect(info.hostname == "web1" && info.kernel == "6.1.0-18-amd64" && info.architecture == "x86_64")
        #expect(info.osName == "Debian GNU/Linux 12 (bookworm)" && info.osVersion == "12" && info.osID == "debian")
        #expect(info.uptimeSeconds == 12345.67 && info.load1 == 0.15 && info.load15 == 0.05)
    }

    @Test("Memory in bytes with the used share")
    func memory() {
        let memory = WrapperOutput.memoryInfo("MemTotal:        2000 kB\nMemFree:          500 kB\nMemAvailable:    1000 kB\nSwapTotal:  0 kB\n")
        #expect(memory.totalBytes == 2_048_000 && memory.availableBytes == 1_024_000 && memory.usedPercent == 50)
    }

    @Test("df lines, mount points with spaces, header and junk skipped")
    func disks() {
        let text = "Filesystem Type 1-blocks Used Available Capacity Mounted on\n/dev/vda1 ext4 1000 250 750 25% /\n/dev/sdb1 xfs 10 1 9 10% /mnt/my disk\ngarbage\n"
        let systems = WrapperOutput.fileSystems(text)
        #expect(systems.count == 2)
        #expect(systems[1].mountPoint == "/mnt/my disk" && systems[1].usedPercent == 10 && systems[0].sizeBytes == 1000)
    }

    @Test("Unit properties; MemoryCurrent [not set] is absent, not zero")
    func service() {
        let status = WrapperOutput.serviceStatus("Id=unbound.service\nActiveState=active\nSubState=running\nMainPID=50\nNRestarts=2\nMemoryCurrent=[not set]\n")
        #expect(status.unit == "unbound.service" && status.mainPID == 50 && status.restarts == 2 && status.memoryBytes == nil)
    }

    @Test("Journal short-iso lines, with and without a PID")
    func journal() {
        let entries = WrapperOutput.journalEntries("2026-11-21T09:40:41+0000 h1 unbound[50]: start of service (unbound 1.17.1).\n2026-11-21T09:40:42+0000 h1 kernel: eth0: link up\n-- No entries --\n")
        #expect(entries.count == 2)
        #expect(entries[0].identifier == "unbound" && entries[0].pid == 50 && entries[0].message == "start of service (unbound 1.17.1).")
        #expect(entries[1].identifier == "kernel" && entries[1].pid == nil)
    }

    @Test("Listening sockets: IPv4, IPv6 in brackets, process name when ss shows it")
    func listening() {
        let sockets = WrapperOutput.listeningSockets("tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:((\"sshd\",pid=61,fd=3))\nudp UNCONN 0 0 [::1]:53 [::]:*\n")
        #expect(sockets.map(\.protocolName) == ["tcp", "udp"] && sockets.map(\.port) == [22, 53])
        #expect(sockets.map(\.address) == ["0.0.0.0", "::1"] && sockets.map(\.process) == ["sshd", nil])
    }
}
