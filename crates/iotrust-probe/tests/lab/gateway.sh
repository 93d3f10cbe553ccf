# A home gateway exposing the service endpoints later botnets exploit, each found by what it
# answers: the Huawei HG532 UPnP control service (moved to 8081, so only its answer can name
# it), Realtek's miniigd on 52869, TR-064 on 7547 and on 5000 (found there by its answer), an ADB daemon on 5555 that accepts
# connections without authorisation, and lighttpd listing a directory on 80. The endpoints are
# test stand-ins (endpoints.py): no Debian package serves them.
. "$LAB/common.sh"

start /usr/bin/python3 "$LAB/endpoints.py" "$IP" huawei:8081 miniigd:52869 tr064:7547 tr064:5000 adb:5555

mkdir -p "$DIR/www/backup"
echo "config" >"$DIR/www/backup/settings.bin"
cat >"$DIR/lighttpd.conf" <<CONF
server.modules = ("mod_dirlisting")
server.document-root = "$DIR/www/backup"
server.bind = "$IP"
server.port = 80
server.username = "www-data"
server.groupname = "www-data"
dir-listing.activate = "enable"
CONF
start /usr/sbin/lighttpd -D -f "$DIR/lighttpd.conf"

wait_port tcp 80
wait_port tcp 5000
wait_port tcp 5555
wait_port tcp 7547
wait_port tcp 8081
wait_port tcp 52869
