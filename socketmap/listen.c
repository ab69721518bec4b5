/*
 * listen.c - the sockets Postfix connects to: TCP (socketmap:inet:
 * HOST:PORT:NAME) and unix-domain (socketmap:unix:PATH:NAME).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "socketmap.h"

#define LISTEN_MAX	8

static struct evconnlistener	*listeners[LISTEN_MAX];
static size_t			 nlisteners;
static struct event		*resume;	/* after EMFILE */

static void
listen_on_resume(evutil_socket_t fd, short ev, void *arg)
{
	size_t	i;

	(void)fd;
	(void)ev;
	(void)arg;
	for (i = 0; i < nlisteners; i++)
		evconnlistener_enable(listeners[i]);
}

static void
listen_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	char	host[NI_MAXHOST], serv[NI_MAXSERV], peer[64];

	(void)l;
	(void)arg;
	if (sa->sa_family == AF_UNIX ||
	    getnameinfo(sa, (socklen_t)salen, host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(peer, sizeof(peer), "client %d", fd);
	else
		snprintf(peer, sizeof(peer), "%.46s:%.8s", host, serv);
	conn_accept(fd, peer);
}

/* EMFILE and the like: the pending connection stays readable, so
 * stop accepting for a while rather than spin; the connections we have
 * are served meanwhile, and the ones waiting are accepted after (the
 * limits of main.c leave room, so this is rare).  The pause doubles
 * while accept keeps failing, from 100 ms to 1.6 s. */
static void
listen_on_error(struct evconnlistener *l, void *arg)
{
	static struct timeval	last;
	static long		pause_ms = 100;
	struct timeval		tv, now;
	size_t			i;

	(void)l;
	(void)arg;
	event_base_gettimeofday_cached(env.base, &now);
	if (now.tv_sec - last.tv_sec > 5)
		pause_ms = 100;
	else if (pause_ms < 1600)
		pause_ms *= 2;
	last = now;
	log_rate(LR_ACCEPT, "accept: %s: pausing for %ldms",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()), pause_ms);
	for (i = 0; i < nlisteners; i++)
		evconnlistener_disable(listeners[i]);
	if (resume == NULL &&
	    (resume = evtimer_new(env.base, listen_on_resume, NULL)) == NULL)
		fatalx("out of memory");
	tv.tv_sec = pause_ms / 1000;
	tv.tv_usec = (pause_ms % 1000) * 1000;
	evtimer_add(resume, &tv);
}

/* Bind and listen on sa (opt names the option for messages), with
 * libevent's listener: non-blocking, close-on-exec, SO_REUSEADDR. */
static struct evconnlistener *
listen_bind(struct sockaddr *sa, socklen_t salen, int backlog,
    evconnlistener_cb cb, const char *opt, const char *name)
{
	struct evconnlistener	*l;

	l = evconnlistener_new_bind(env.base, cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    backlog, sa, (int)salen);
	if (l == NULL)
		fatalx("%s%s: cannot listen: %s", opt, name,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	return l;
}

/* "127.0.0.1:8461", "[::1]:8461" or "8461" (127.0.0.1); numeric only:
 * no name lookup at startup.  For -l and for -M (metrics.c). */
struct evconnlistener *
listen_bind_tcp(const char *spec, int backlog, evconnlistener_cb cb,
    const char *opt)
{
	struct evconnlistener	*l;
	struct addrinfo		 hints, *ai;
	char			 host[128];
	const char		*port, *h = host, *s = spec;
	size_t			 hlen;
	int			 r;

	if ((port = strrchr(s, ':')) == NULL) {
		h = "127.0.0.1";
		port = s;
	} else {
		hlen = (size_t)(port++ - s);
		if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
			s++;
			hlen -= 2;
		}
		if (hlen == 0 || hlen >= sizeof(host))
			fatalx("%s%s: expected ADDRESS:PORT", opt, spec);
		memcpy(host, s, hlen);
		host[hlen] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((r = getaddrinfo(h, port, &hints, &ai)) != 0)
		fatalx("%s%s: %s (a numeric address and port are needed)",
		    opt, spec, gai_strerror(r));
	l = listen_bind(ai->ai_addr, ai->ai_addrlen, backlog, cb, opt, spec);
	freeaddrinfo(ai);
	return l;
}

/* A listener for Postfix: accepted connections go to conn.c. */
static void
listen_add(struct evconnlistener *l, const char *name)
{
	if (nlisteners == LISTEN_MAX)
		fatalx("%s: more than %d listening sockets", name, LISTEN_MAX);
	evconnlistener_set_error_cb(l, listen_on_error);
	/* libevent ignores a failure to watch the socket (out of memory):
	 * we would listen and never accept.  Enabling again says. */
	if (evconnlistener_enable(l) == -1)
		fatalx("%s: cannot listen: out of memory", name);
	listeners[nlisteners++] = l;
	log_info("listening on %s", name);
}

void
listen_tcp(const char *spec)
{
	listen_add(listen_bind_tcp(spec, 128, listen_on_accept, "-l "), spec);
}

/* A stale socket file from an earlier run is replaced; the socket is
 * made 0666: restrict access with the directory's mode. */
void
listen_unix(const char *path)
{
	struct sockaddr_un	sun;
	struct stat		st;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("%s: socket path too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			fatalx("%s: exists and is not a socket", path);
		if (unlink(path) == -1)
			fatalx("%s: cannot remove the old socket", path);
	}
	listen_add(listen_bind((struct sockaddr *)&sun, sizeof(sun), 128,
	    listen_on_accept, "", path), path);
	if (chmod(path, 0666) == -1)
		fatalx("%s: cannot chmod", path);
}

void
listen_free(void)
{
	while (nlisteners > 0)
		evconnlistener_free(listeners[--nlisteners]);
	if (resume != NULL)
		event_free(resume);
}
