#!/usr/bin/env bash
# Builds the tiny QEMU guest the VM tests and examples/qemu-guest.mjs boot:
# Debian's kernel (linux-image-amd64) and an initramfs of busybox-static plus
# virtio_net and whatever it needs that this kernel builds as modules. The
# guest's /init brings eth0 up from the kernel command line, pings the peer,
# prints one marker line on the console and powers off:
#
#   mv.addr=192.0.2.10/24 mv.peer=192.0.2.1 [mv.count=3]
#   -> "MV-GUEST: RESULT ok 3/3 from 192.0.2.1" (or "RESULT fail ...")
#
# Prints KERNEL=<path> and INITRD=<path> on stdout for callers to parse:
# .cache/guest/vmlinux (the kernel unpacked for a fast PVH boot) or
# .cache/guest/vmlinuz (the bzImage, where that is not possible), and
# .cache/guest/initramfs.cpio.gz.
# Installs missing Debian packages with apt-get; rebuilds only when the cache
# is missing or was made by another version of this script or kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cache/guest

need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
dpkg-query -W -f='${Status}' linux-image-amd64 2>/dev/null | grep -q 'ok installed' || need+=(linux-image-amd64)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
command -v xz >/dev/null 2>&1 || need+=(xz-utils) # unpacks Debian's bzImage
if ((${#need[@]})); then
  echo "build-guest: apt-get install ${need[*]}" >&2
  apt-get update -qq
  # No recommends: firmware and apparmor are of no use to a test guest.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The kernel the linux-image-amd64 metapackage points at: "linux-image-6.1.0-56-amd64 (= ...)".
kver=$(dpkg-query -W -f='${Depends}' linux-image-amd64 | sed -n 's/^linux-image-\([^ ,]*\).*/\1/p')
vmlinuz=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[ -n "$kver" ] && [ -f "$vmlinuz" ] && [ -d "$moddir" ] || { echo "build-guest: no kernel found for linux-image-amd64 ('$kver')" >&2; exit 1; }

# One build at a time: the test and the example may start together.
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
stamp="$kver $(stat -c %Y "$vmlinuz") $(sha256sum "$0" | cut -c1-16)"
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -f "$out/kernel" ] && [ -f "$out/$(cat "$out/kernel")" ] && [ -f "$out/initramfs.cpio.gz" ]; then
  echo "KERNEL=$PWD/$out/$(cat "$out/kernel")"
  echo "INITRD=$PWD/$out/initramfs.cpio.gz"
  exit 0
fi

root=$(mktemp -d)
chmod 755 "$root"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,lib/modules}
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

# Load order from modprobe itself: it reads modules.dep and skips what
# modules.builtin lists (e.g. virtio_pci is =m in Debian, =y elsewhere).
: >"$root/lib/modules/order"
modprobe -a -S "$kver" --show-depends virtio_pci virtio_net | while read -r what path _; do
  [ "$what" = insmod ] || continue
  name=$(basename "$path")
  grep -qx "$name" "$root/lib/modules/order" 2>/dev/null && continue
  # busybox insmod wants a plain .ko; newer Debian kernels compress them.
  case "$path" in
    *.ko.xz) name=${name%.xz}; xz -dc "$path" >"$root/lib/modules/$name" ;;
    *.ko.zst) name=${name%.zst}; zstd -qdc "$path" >"$root/lib/modules/$name" ;;
    *.ko.gz) name=${name%.gz}; gzip -dc "$path" >"$root/lib/modules/$name" ;;
    *) cp "$path" "$root/lib/modules/$name" ;;
  esac
  echo "$name" >>"$root/lib/modules/order"
done

cat >"$root/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The firmware leaves the cursor mid-line ("Booting from ROM.."): start afresh.
echo
say() { echo "MV-GUEST: $*"; }
finish() { say "RESULT $*"; sync; poweroff -f; }

addr= peer= count=3
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    mv.addr=*) addr=${arg#mv.addr=} ;;
    mv.peer=*) peer=${arg#mv.peer=} ;;
    mv.count=*) count=${arg#mv.count=} ;;
  esac
done
[ -n "$addr" ] && [ -n "$peer" ] || finish "fail no mv.addr= or mv.peer= on the kernel command line"

for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m" || say "insmod $m failed"
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /sys/class/net/eth0 ] || finish "fail no eth0"

ip link set lo up
ip link set eth0 up
ip addr add "$addr" dev eth0
say "eth0 mac=$(cat /sys/class/net/eth0/address) addr=$addr queues=$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l) uptime=$(cut -d' ' -f1 /proc/uptime)"

got=$(ping -c "$count" -i 0.2 -w 10 "$peer" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
if [ "${got:-0}" -gt 0 ]; then
  finish "ok ${got}/${count} from $peer uptime=$(cut -d' ' -f1 /proc/uptime)"
else
  finish "fail 0/${count} from $peer"
fi
EOF
chmod 755 "$root/init"

# Under TCG, decompressing the bzImage takes longer than booting the kernel
# (~14 s of ~20 s when measured). A kernel with CONFIG_PVH boots from its
# ELF vmlinux directly, so unpack that once here (as the kernel's
# scripts/extract-vmlinux does) and fall back to the bzImage otherwise.
kernel=vmlinuz
rm -f "$out/vmlinux"
if grep -qx 'CONFIG_PVH=y' "/boot/config-$kver" 2>/dev/null; then
  for z in 'xz -dc:\xfd7zXZ\x00' 'zstd -qdc:\x28\xb5\x2f\xfd' 'gzip -dc:\x1f\x8b\x08'; do
    off=$(LC_ALL=C grep -aboP -m1 "${z#*:}" "$vmlinuz" | head -1 | cut -d: -f1) || true
    [ -n "$off" ] || continue
    tail -c +$((off + 1)) "$vmlinuz" | ${z%%:*} >"$out/vmlinux.tmp" 2>/dev/null || true
    if [ "$(head -c 4 "$out/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
      mv "$out/vmlinux.tmp" "$out/vmlinux"
      kernel=vmlinux
      break
    fi
  done
  rm -f "$out/vmlinux.tmp"
fi

(cd "$root" && find . | sort | busybox cpio -o -H newc -R 0:0) | gzip -9 >"$out/initramfs.cpio.gz.tmp"
cp "$vmlinuz" "$out/vmlinuz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
echo "$kernel" >"$out/kernel"
echo "$stamp" >"$out/stamp"
echo "build-guest: kernel $kver ($kernel), modules: $(tr '\n' ' ' <"$root/lib/modules/order")" >&2
echo "KERNEL=$PWD/$out/$kernel"
echo "INITRD=$PWD/$out/initramfs.cpio.gz"
