#!/bin/bash
# Kerberos credmon stand-in for the tests: behaves as upstream's condor_credmon_krb
# (htcondor/htcondor src/condor_scripts/condor_credmon_krb) does on disk:
#   - `echo $$ > $CREDDIR/pid` under the process umask (022): root 0644, with a newline;
#   - on SIGHUP (or its timer) copies each <user>.cred with no .cc, or a .cc older than the .cred,
#     to <user>.cc.tmp and renames it to <user>.cc; removes marked users' .cc, .cred and .mark;
#     touches CREDMON_COMPLETE.
# Usage: credmon_krb.sh DIR LOG   (env STANDIN_IGNORE=1: log HUPs only; STANDIN_DELAY_MS=N)
CREDDIR=$1
LOGFILE=$2
umask 022
PIDFILE=$CREDDIR/pid

function shepherding {
	for TICKET in "$CREDDIR"/*.cred; do
		[[ -e $TICKET ]] || continue
		if [[ ! -f ${TICKET%cred}cc || ${TICKET%cred}cc -ot $TICKET ]]; then
			cp "$TICKET" "${TICKET%cred}cc.tmp"
			mv "${TICKET%cred}cc.tmp" "${TICKET%cred}cc"
		fi
	done
	for TICKET in "$CREDDIR"/*.mark; do
		[[ -e $TICKET ]] || continue
		/bin/rm -f "$TICKET" "${TICKET%mark}cc" "${TICKET%mark}cred"
	done
	touch "$CREDDIR/CREDMON_COMPLETE"
}

signalled=0
trap 'signalled=1; echo "HUP $(date +%s%3N)" >> "$LOGFILE"' SIGHUP
trap 'kill $SLEEPER 2>/dev/null; exit 0' SIGTERM

if [[ -f $PIDFILE ]]; then rm "$PIDFILE"; fi
echo $$ > "$PIDFILE"
[[ $STANDIN_IGNORE = 1 ]] || shepherding   # "shepherding startup", as the real script does
echo ready
while :; do
	sleep 300 &
	SLEEPER=$!
	wait $SLEEPER
	kill $SLEEPER 2>/dev/null
	if [[ $signalled = 1 ]]; then
		signalled=0
		[[ $STANDIN_IGNORE = 1 ]] && continue
		[[ -n $STANDIN_DELAY_MS ]] && sleep "$(awk "BEGIN{print $STANDIN_DELAY_MS/1000}")"
		shepherding
		echo "DONE $(date +%s%3N)" >> "$LOGFILE"
	fi
done
