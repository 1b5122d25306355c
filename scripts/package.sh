#!/bin/bash
# Builds the Debian package dist/mcp-linux-infra_VERSION_ARCH.deb: a release binary with the Swift runtime linked
# statically (no Swift toolchain on the machine that installs it), the catalogue and target scripts, the Ansible
# role and playbooks, examples, docs, a man page, shell completions and the systemd units (docs/PACKAGING.md).
# Progress goes to stderr; the last line on stdout is the package's path.
# Needs: the Swift toolchain, dpkg-dev (dpkg-shlibdeps), binutils (strip), git. Run from anywhere; no root needed.
set -eu
umask 022

cd "$(dirname "$0")/.."
repo=$(pwd)
if [ -x /opt/swift/usr/bin/swift ]; then PATH="/opt/swift/usr/bin:$PATH"; fi
export PATH

say() { printf 'package: %s\n' "$*" >&2; }
die() { printf 'package: %s\n' "$*" >&2; exit 1; }

for tool in swift git strip gzip dpkg dpkg-deb dpkg-shlibdeps ldd; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install dpkg-dev binutils git libcurl4-openssl-dev; Swift from swift.org)"
done

package=mcp-linux-infra
maintainer_name="mcp-linux-infra maintainers"
maintainer_email="maintainers@users.noreply.h-seed-e2a22c65.example"
maintainer="$maintainer_name <$maintainer_email>"
version_file=Sources/MCPLinuxInfra/MCPLinuxInfra.swift
version=$(sed -n 's/^ *static let version = "\([0-9A-Za-z.+~-]*\)"$/\1/p' "$version_file")
if [ -z "$version" ] || [ "$(printf '%s\n' "$version" | wc -l)" -ne 1 ]; then
  die "no single 'static let version = \"X.Y.Z\"' in $version_file"
fi
arch=$(dpkg --print-architecture)
# Every date in the package is the commit's, so two builds of one commit differ only where the compiler does.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH
commit=$(git describe --always --dirty)


# Debian copyright file: the project, the Swift runtime and every Swift package the release build checked out
# (all linked statically into the one binary), each with its licence: Apache-2.0 by reference to
# /usr/share/common-licenses, any other licence with its full text; NOTICE files in full (Apache-2.0 asks for them).
debian_text() { sed -e 's/[[:space:]]*$//' -e 's/^$/./' -e 's/^/ /'; }
write_copyright() {
  local checkouts="$1" dir name version licence_file notice_file
  printf 'Upstream-Name: %s\n' "$package"
  printf 'Comment: The binary links the Swift runtime and the Swift packages below statically.\n\n'
  printf 'Files: *\nCopyright: %s\nLicense: none-stated\n' "$maintainer"
  printf ' The mcp-linux-infra repository carries no licence file.\n\n'
  printf 'Files: usr/bin/mcp-linux-infra (Swift runtime, Foundation, Dispatch)\n'
  printf 'Copyright: Apple Inc. and the Swift project authors\n'
  printf 'License: Apache-2.0 with Runtime Library Exception\n'
  if [ -f "$(dirname "$(command -v swift)")/../share/swift/LICENSE.txt" ]; then
    sed -n '/Runtime Library Exception/,$p' "$(dirname "$(command -v swift)")/../share/swift/LICENSE.txt" | debian_text
  fi
  printf '\n'
  for dir in "$checkouts"/*/; do
    dir=${dir%/}
    name=$(basename "$dir")
    version=$(git -C "$dir" describe --tags --always 2>/dev/null || echo unknown)
    licence_file=
    for candidate in LICENSE LICENSE.txt LICENSE.md COPYING; do
      if [ -f "$dir/$candidate" ]; then licence_file="$dir/$candidate"; break; fi
    done
    [ -n "$licence_file" ] || die "no licence file in $dir: the copyright file would be incomplete"
    printf 'Files: usr/bin/mcp-linux-infra (Swift package %s %s)\n' "$name" "$version"
    printf 'Copyright: the %s authors (see the licence text)\n' "$name"
    if grep -q 'Apache License' "$licence_file" && grep -q 'Version 2.0' "$licence_file" \
      && ! grep -q 'Permission is hereby granted' "$licence_file"; then
      printf 'License: Apache-2.0\n'
    else
      printf 'License: %s-licence\n' "$name"
      debian_text < "$licence_file"
    fi
    for notice_file in "$dir/NOTICE.txt" "$dir/NOTICE"; do
      if [ -f "$notice_file" ]; then
        printf 'Comment: %s\n' "$(basename "$notice_file")"
        debian_text < "$notice_file"
        break
      fi
    done
    printf '\n'
  done
  printf 'License: Apache-2.0\n On Debian systems the full text of the Apache License 2.0 is in\n'
  printf ' /usr/share/common-licenses/Apache-2.0.\n'
}

scratch=.build-release
# FoundationNetworking (URLSession, which swift-sdk and EventSource import) is linked statically too, and it
# links libcurl: Debian's libcurl4-openssl-dev gives the linker libcurl.so, and the package then depends on libcurl4.
build_flags=(-c release --static-swift-stdlib --scratch-path "$scratch")
say "building $package $version ($commit) for $arch: swift build ${build_flags[*]} --product $package"
swift build "${build_flags[@]}" --product "$package" >&2
# swift-argument-parser's own man page generator (the tool behind its generate-manual plugin); the plugin itself
# would build every product of the package in release mode first, benchmarks included.
swift build "${build_flags[@]}" --product generate-manual >&2
bin_dir=$(swift build "${build_flags[@]}" --show-bin-path)

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
root="$work/root"
share="$root/usr/share/$package"
doc="$root/usr/share/doc/$package"

# Folders first, each with its mode: dpkg-deb records them as they are here.
for folder in usr/bin "usr/share/$package/examples" "usr/share/doc/$package/docs" usr/share/man/man1 \
  usr/share/bash-completion/completions usr/share/zsh/vendor-completions usr/share/fish/vendor_completions.d \
  lib/systemd/system DEBIAN; do
  install -d -m 0755 "$root/$folder"
done

say "binary: strip, then check that no Swift library is left to load"
binary="$root/usr/bin/$package"
install -m 0755 "$bin_dir/$package" "$binary"
strip --strip-all "$binary"
swift_libraries=$(ldd "$binary" | grep -E 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|libXCTest' || true)
[ -z "$swift_libraries" ] || die "the binary still loads Swift libraries: $swift_libraries"

say "catalogue, target scripts, Ansible role and playbooks (the files git tracks, with git's modes)"
# git ls-files -s: MODE OBJECT STAGE<TAB>PATH, NUL-terminated; 120000 is a symlink, 100755 an executable.
while IFS= read -r -d '' entry; do
  mode=${entry%% *}
  path=${entry#*$'\t'}
  target="$share/$path"
  install -d -m 0755 "$(dirname "$target")"
  case "$mode" in
    120000) ln -s -- "$(readlink -- "$path")" "$target" ;;
    100755) install -m 0755 -- "$path" "$target" ;;
    *) install -m 0644 -- "$path" "$target" ;;
  esac
done < <(git ls-files -s -z -- system ansible)
install -m 0644 .env.example "$share/examples/settings.env"
install -m 0644 inventory.example.yml "$share/examples/inventory.example.yml"

say "docs, copyright, changelog"
install -m 0644 README.md "$doc/README.md"
for page in docs/*.md; do
  install -m 0644 -- "$page" "$doc/docs/${page#docs/}"
done
write_copyright "$scratch/checkouts" > "$doc/copyright"
chmod 0644 "$doc/copyright"
{
  printf '%s (%s) unstable; urgency=medium\n\n' "$package" "$version"
  printf '  * Built from commit %s by scripts/package.sh.\n\n' "$commit"
  printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

say "man page (generate-manual) and shell completions (--generate-completion-script)"
install -d "$work/man"
"$bin_dir/generate-manual" "$binary" --output-directory "$work/man" --section 1 \
  --date "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)" --authors "$maintainer_name<$maintainer_email>" >&2
[ -s "$work/man/$package.1" ] || die "generate-manual wrote no $package.1 into $work/man"
gzip -9n -c "$work/man/$package.1" > "$root/usr/share/man/man1/$package.1.gz"
chmod 0644 "$root/usr/share/man/man1/$package.1.gz"
"$binary" --generate-completion-script bash > "$root/usr/share/bash-completion/completions/$package"
"$binary" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_$package"
"$binary" --generate-completion-script fish > "$root/usr/share/fish/vendor_completions.d/$package.fish"
chmod 0644 "$root/usr/share/bash-completion/completions/$package" "$root/usr/share/zsh/vendor-completions/_$package" \
  "$root/usr/share/fish/vendor_completions.d/$package.fish"

say "systemd units and maintainer scripts"
install -m 0644 packaging/systemd/mcp-linux-infra.service packaging/systemd/mcp-linux-infra-agent.service "$root/lib/systemd/system/"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"

say "Depends: from the libraries the binary loads (dpkg-shlibdeps), plus the programs it runs"
install -d "$work/shlibs/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$package" "$package" > "$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O -e"$binary" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no library dependencies for $binary"
# openssh-client: ssh-agent (the agent unit) and ssh-keygen (setup); passwd: useradd/groupadd/usermod (setup).
depends="$shlibs, openssh-client, passwd"
installed_size=$(du -k -s --apparent-size --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: $package
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Suggests: ansible
Section: admin
Priority: optional
Description: MCP server for Linux hosts over SSH, with signed approvals
 mcp-linux-infra lets an AI assistant read Linux hosts over SSH through a
 read-only account, and run a fixed catalogue of actions only after people
 in the mcp-approvers group approve and sign them. Every call is audited in
 a hash-chained log. The Swift runtime is linked into the binary.
 .
 Installing runs "mcp-linux-infra setup" (accounts, /etc/mcp-linux-infra,
 keys, the shared database). The systemd units are neither enabled nor
 started.
CONTROL
(cd "$root" && find usr lib -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

find "$root" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
mkdir -p dist
deb="$repo/dist/${package}_${version}_${arch}.deb"
say "dpkg-deb --build --root-owner-group -> $deb"
dpkg-deb --build --root-owner-group -Zxz "$root" "$deb" >&2
say "$(du -h "$deb" | cut -f1) $deb"
printf '%s\n' "$deb"
