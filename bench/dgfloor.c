/*
 * dgfloor.c - the floor for bench/tlsrptd.sh: a unix datagram socket
 * that only recv()s, as mtasts-tlsrptd's does (same buffer, same
 * flags), and exits after count datagrams.  What a sender reaches
 * against it is what the kernel and the sender allow; the collector's
 * figure beside it shows what parsing and summing cost.
 *
 * usage: dgfloor SOCKET COUNT
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF	(128 * 1024 + 1)

int
main(int argc, char *argv[])
{
	static char		 buf[BUF];
	struct sockaddr_un	 sun;
	unsigned long		 count, n = 0;
	int			 fd, want = 4 * 1024 * 1024;

	if (argc != 3)
		return 2;
	count = strtoul(argv[2], NULL, 10);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror("dgfloor");
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
	while (n < count)
		if (recv(fd, buf, sizeof(buf), MSG_TRUNC) >= 0)
			n++;
	unlink(argv[1]);
	return 0;
}
