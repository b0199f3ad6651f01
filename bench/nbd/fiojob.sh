# shellcheck shell=sh
# SPDX-License-Identifier: MIT
#
# Sourced by bench/nbd/run.sh (bash, on the host) and guest.sh (busybox sh,
# in the VM), so both runs give fio the same job: POSIX sh only.
#
#   fio_job ENGINE-LINES RW BS JOBS QD SIZE   print the job file
#
# ENGINE-LINES: "ioengine=nbd" + "uri=...", or io_uring + direct=1 +
# filename= for the O_DIRECT baseline. Each job has its own region of SIZE
# bytes (offset_increment), ends with a FLUSH (end_fsync=1: NBD_CMD_FLUSH
# on every connection), and writes carry crc32c headers that the read of
# the same regions checks.
fio_job() {
	if [ "${2%write}" != "$2" ]; then
		fio_job_verify=0
	else
		fio_job_verify=1
	fi
	cat <<JOB
[global]
$1
rw=$2
bs=$3
iodepth=$5
numjobs=$4
size=$6
offset_increment=$6
verify=crc32c
do_verify=$fio_job_verify
end_fsync=1
verify_state_save=0
group_reporting=1
[job]
JOB
}
