# A recorder whose telnet logins all have strong passwords: BusyBox login on 23 and the
# distribution's PAM login (3 s fail delay) on 2323. Telnet itself is a finding; a
# default-credential finding here would be a false positive (what hydra reports on BusyBox).
. "$LAB/common.sh"

account operator 'Vq7#pLx2!eRz9' 1000
account viewer 'k9!Rt2#mWq4z' 1001

ln -sf /bin/busybox "$DIR/bin/login"
start /bin/busybox telnetd -F -p 23 -b "$IP" -l "$DIR/bin/login"
start /bin/busybox telnetd -F -p 2323 -b "$IP" -l /bin/login

wait_port tcp 23
wait_port tcp 2323
