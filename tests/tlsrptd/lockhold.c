/*
 * lockhold.c - hold the cache's operation lock (an fcntl(2) write lock
 * on byte 0 of cache.lock, core/cache_env.c) for a while, as a process
 * stuck inside the store would: tests/integration/tlsrptd.sh checks
 * that mtasts-tlsrptd keeps its sums meanwhile.
 *
 * usage: lockhold LOCKFILE SECONDS READYFILE
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct flock	 fl;
	int		 fd, ready;

	if (argc != 4)
		return 2;
	if ((fd = open(argv[1], O_RDWR)) == -1) {
		perror(argv[1]);
		return 1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	if (fcntl(fd, F_SETLKW, &fl) == -1) {
		perror("fcntl");
		return 1;
	}
	if ((ready = open(argv[3], O_WRONLY | O_CREAT, 0644)) == -1) {
		perror(argv[3]);
		return 1;
	}
	close(ready);
	sleep((unsigned int)atoi(argv[2]));
	return 0;
}
