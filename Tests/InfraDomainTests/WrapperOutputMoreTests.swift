import InfraDomain
import Testing

/// The parsers of the remaining verbs, on output captured from Debian 12 programs (lscpu 2.38, iproute2 6.1, ss,
/// procps, curl, ping, fail2ban 1.0, podman 4.3 and docker 20.10 formats).
@Suite("Typed readings of mcp-wrapper output: hardware, services, network, logs, processes, extras")
struct WrapperOutputMoreTests {
    @Test("lscpu --json, flat and nested, with the load averages")
    func cpu() {
        let flat = #"{"lscpu": [{"field": "Architecture:", "data": "x86_64"},{"field": "CPU(s):", "data": "2"},{"field": "Vendor ID:", "data": "AuthenticAMD"},{"field": "Model name:", "data": "AMD EPYC"},{"field": "Thread(s) per core:", "data": "1"},{"field": "Core(s) per socket:", "data": "2"},{"field": "Socket(s):", "data": "1"}]}"#
        let info = WrapperOutput.cpuInfo(lscpu: flat, uptime: "10.0 5.0\n0.50 0.25 0.10 1/99 42\n")
        #expect(info.architecture == "x86_64" && info.cpus == 2 && info.vendor == "AuthenticAMD" && info.modelName == "AMD EPYC")
        #expect(info.coresPerSocket == 2 && info.sockets == 1 && info.maxMHz == nil && info.load1 == 0.5 && info.load15 == 0.1)
        let nested = #"{"lscpu": [{"field": "Vendor ID:", "data": "GenuineIntel", "children": [{"field": "Model name:", "data": "Xeon", "children": [{"field": "CPU max MHz:", "data": "3500.0000"}]}]}]}"#
        let deep = WrapperOutput.cpuInfo(lscpu: nested, uptime: "")
        #expect(deep.modelName == "Xeon" && deep.maxMHz == 3500 && deep.cpus == 0)
    }

    @Test("lsblk tree flattened with parents; sizes as numbers or strings")
    func blockDevices() {
        let text = #"{"blockdevices": [{"name": "vda", "type": "disk", "size": 1000, "fstype": null, "mountpoint": null, "model": "QEMU  ", "children": [{"name": "vda1", "type": "part", "size": "600", "fstype": "ext4", "mountpoint": "/", "model": null}]}]}"#
        let devices = WrapperOutput.blockDevices(text)
        #expect(devices.map(\.name) == ["vda", "vda1"])
        #expect(devices[0].model == "QEMU" && devices[0].parent == nil && devices[0].fsType == nil)
        #expect(devices[1].sizeBytes == 600 && devices[1].parent == "vda" && devices[1].mountPoint == "/")
        #expect(WrapperOutput.blockDevices("not json").isEmpty)
    }

    @Test("Hardware: virtualisation and DMI, absent DMI left empty")
    func hardware() {
        let vm = WrapperOutput.hardwareInfo("virtualization:kvm\n/sys/class/dmi/id/sys_vendor:QEMU\n/sys/class/dmi/id/product_name:Standard PC (Q35 + ICH9, 2009)\n/sys/class/dmi/id/chassis_type:1\n")
        #expect(vm.virtualization == "kvm" && vm.vendor == "QEMU" && vm.product == "Standard PC (Q35 + ICH9, 2009)" && vm.chassisType == "1")
        let container = WrapperOutput.hardwareInfo("virtualization:systemd-nspawn\n")
        #expect(container.virtualization == "systemd-nspawn" && container.vendor == nil && container.biosVersion == nil)
    }

    @Test("Units, and a health verdict that names each problem")
    func services() {
        let units = WrapperOutput.units("unbound.service loaded active running Unbound DNS server\nssh.service    loaded active running OpenBSD Secure Shell server\n")
        #expect(units.count == 2 && units[0].description == "Unbound DNS server" && units[1].subState == "running")
        let good = WrapperOutput.serviceHealth(show: "Id=ssh.service\nLoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nMainPID=10\n", errors: "")
        #expect(good.healthy && good.problems.isEmpty && good.mainPID == 10)
        let bad = WrapperOutput.serviceHealth(
            show: "Id=unbound.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\nResult=exit-code\nNRestarts=3\n",
            errors: "2026-11-21T09:40:41+0000 t1 unbound[77]: fatal error: could not open ports\n")
        #expect(!bad.healthy && bad.restarts == 3 && bad.recentErrors.count == 1)
        #expect(bad.problems == ["unit is failed (failed)", "last result: exit-code", "1 error-level journal entries in the last hour"])
    }

    @Test("ip -json address and route")
    func interfacesAndRoutes() {
        let address = #"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536,"operstate":"UNKNOWN","address":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8},{"family":"inet6","local":"::1","prefixlen":128}]},{"ifindex":2,"ifname":"host0","flags":[],"mtu":1500,"operstate":"UP","addr_info":[]}]"#
        let interfaces = WrapperOutput.networkInterfaces(address)
        #expect(interfaces.map(\.name) == ["lo", "host0"] && interfaces[0].addresses.map(\.address) == ["127.0.0.1", "::1"])
        #expect(interfaces[0].addresses[1].prefixLength == 128 && interfaces[1].macAddress == nil && interfaces[1].state == "UP")
        let routes = WrapperOutput.routes(#"[{"dst":"default","gateway":"10.231.1.1","dev":"host0","flags":[]},{"dst":"10.231.1.0/24","dev":"host0","protocol":"kernel","scope":"link","prefsrc":"10.231.1.2","metric":100,"flags":[]}]"#)
        #expect(routes.count == 2 && routes[0].gateway == "10.231.1.1" && routes[1].source == "10.231.1.2" && routes[1].metric == 100)
    }

    @Test("ss connections with and without the state column; IPv6 and * ports")
    func connections() {
        let filtered = WrapperOutput.connections("tcp 0 0 10.231.1.2:22 10.231.1.1:51234\n")
        #expect(filtered.count == 1 && filtered[0].protocolName == "tcp" && filtered[0].state == nil)
        #expect(filtered[0].localAddress == "10.231.1.2" && filtered[0].localPort == 22 && filtered[0].peerAddress == "10.231.1.1" && filtered[0].peerPort == 51234)
        let all = WrapperOutput.connections("tcp LISTEN 0 128 [::]:22 [::]:*\nudp UNCONN 0 0 127.0.0.1:53 0.0.0.0:*\n")
        #expect(all[0].state == "LISTEN" && all[0].localAddress == "::" && all[0].peerPort == nil && all[1].localPort == 53)
    }

    @Test("resolv.conf, ping statistics, curl's status line")
    func dnsPingHTTP() throws {
        let dns = WrapperOutput.dnsConfig("# generated\nnameserver 127.0.0.1\nnameserver ::1\nsearch example.org lab\noptions edns0 trust-ad\n")
        #expect(dns.nameservers == ["127.0.0.1", "::1"] && dns.search == ["example.org", "lab"] && dns.options == ["edns0", "trust-ad"])
        let up = WrapperOutput.ping("--- 127.0.0.1 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time 1021ms\nrtt min/avg/max/mdev = 0.036/0.037/0.038/0.001 ms\n")
        #expect(up.reachable && up.transmitted == 2 && up.lossPercent == 0 && up.rttAvgMs == 0.037 && up.rttMaxMs == 0.038)
        let down = WrapperOutput.ping("--- 192.0.2.1 ping statistics ---\n3 packets transmitted, 0 received, 100% packet loss, time 2040ms\n")
        #expect(!down.reachable && down.transmitted == 3 && down.lossPercent == 100 && down.rttMinMs == nil)
        let http = try WrapperOutput.httpCheck("200 0.001234 612\n")
        #expect(http.statusCode == 200 && http.bytes == 612 && http.timeSeconds == 0.001234)
        #expect(throws: ParseFailure.self) { try WrapperOutput.httpCheck("") }
    }

    @Test("Log lines, grep -n matches, and an error analysis that folds numbers")
    func logs() {
        #expect(WrapperOutput.lines("a\n\nb\n") == ["a", "", "b"])
        let matches = WrapperOutput.logMatches("12:Failed password\n130:x:y\n")
        #expect(matches.map(\.line) == [12, 130] && matches.map(\.text) == ["Failed password", "x:y"])
        let journal = """
        2026-11-21T09:00:00+0000 t1 sshd[10]: Failed password for root from 192.0.2.7 port 4000
        2026-11-21T09:01:00+0000 t1 sshd[11]: Failed password for root from 192.0.2.8 port 4001
        2026-11-21T09:02:00+0000 t1 kernel: oom-kill in task 77
        """
        let analysis = WrapperOutput.errorAnalysis(journal)
        #expect(analysis.total == 3 && analysis.first == "2026-11-21T09:00:00+0000" && analysis.last == "2026-11-21T09:02:00+0000")
        #expect(analysis.byIdentifier.map(\.identifier) == ["sshd", "kernel"] && analysis.byIdentifier[0].count == 2)
        #expect(analysis.topMessages[0].pattern == "Failed password for root from #.#.#.# port #" && analysis.topMessages[0].count == 2)
        #expect(WrapperOutput.errorAnalysis("").total == 0)
    }

    @Test("ps lists, one process with lstart, and no process")
    func processes() throws {
        let list = WrapperOutput.processes("    1     0 root      0.3  0.0  9120 Ss       7679 systemd\n  200     1 unbound   0.0  0.5  2048 Ss        60 unbound\n")
        #expect(list.count == 2 && list[1].user == "unbound" && list[1].rssBytes == 2048 * 1024 && list[0].elapsedSeconds == 7679)
        let detail = try WrapperOutput.processDetail("  PID  PPID USER %CPU %MEM RSS VSZ STAT STARTED ELAPSED COMMAND\n  200     1 unbound 0.0  0.5  2048 9000 Ss  Sat Nov 21 08:13:03 2026    60 /usr/sbin/unbound -d -p\n")
        #expect(detail.pid == 200 && detail.startedAt == "Sat Nov 21 08:13:03 2026" && detail.commandLine == "/usr/sbin/unbound -d -p")
        #expect(detail.virtualBytes == 9000 * 1024 && detail.elapsedSeconds == 60)
        #expect(throws: ParseFailure.self) { try WrapperOutput.processDetail("  PID  PPID USER %CPU\n") }
        let sizes = WrapperOutput.directorySizes("663654400\t/var\n569528320\t/var/cache\n")
        #expect(sizes.map(\.path) == ["/var", "/var/cache"] && sizes.map(\.bytes) == [663_654_400, 569_528_320])
    }

    @Test("Containers from podman's JSON array and docker's JSON lines")
    func containers() {
        let podman = WrapperOutput.containers(#"[{"Id":"abc","Names":["web"],"Image":"docker.io/library/nginx:latest","State":"running","Status":"Up 2 hours"}]"#)
        #expect(podman.count == 1 && podman[0].id == "abc" && podman[0].name == "web" && podman[0].image == "docker.io/library/nginx:latest")
        #expect(podman[0].state == "running" && podman[0].status == "Up 2 hours")
        let docker = WrapperOutput.containers(#"{"ID":"def","Names":"db","Image":"postgres:16","State":"exited","Status":"Exited (0) 1 hour ago"}"# + "\n")
        #expect(docker.first?.name == "db" && docker.first?.id == "def" && docker.first?.state == "exited")
    }

    @Test("fail2ban: the jail list and one jail's counters")
    func fail2ban() throws {
        #expect(WrapperOutput.fail2banJails("Status\n|- Number of jail:\t2\n`- Jail list:\tsshd, caddy\n") == ["sshd", "caddy"])
        let jail = try WrapperOutput.fail2banJail("""
        Status for the jail: sshd
        |- Filter
        |  |- Currently failed:\t1
        |  |- Total failed:\t7
        |  `- Journal matches:\t_SYSTEMD_UNIT=sshd.service + _COMM=sshd
        `- Actions
           |- Currently banned:\t2
           |- Total banned:\t3
           `- Banned IP list:\t192.0.2.7 192.0.2.8
        """)
        #expect(jail.jail == "sshd" && jail.currentlyFailed == 1 && jail.totalFailed == 7 && jail.currentlyBanned == 2 && jail.totalBanned == 3)
        #expect(jail.bannedAddresses == ["192.0.2.7", "192.0.2.8"])
        #expect(throws: ParseFailure.self) { try WrapperOutput.fail2banJail("Sorry but the jail 'x' does not exist\n") }
    }
}
