"""A replicated partition: a leader and followers with their own logs, the ISR, the high watermark.

Steps of the `pipeline` model (spec/pipeline.py) shared by its base actions and its
failure modes (spec/failures/). Each replica r keeps a log `log[r]` of message ids
with `leo[r]` entries (its log end offset; cells past it are -1). The leader is a
number the actions cannot index arrays of arrays with, so every read of "the
leader's log" is an if-then-else over the replicas (`at_leader`).

What real Kafka does, and what is left out:
- a follower fetches from the leader one record at a time (real: batches) and
  rejoins the ISR once its log end is at or above the high watermark and the offset
  where the leader's epoch began (KAFKA-7128);
- the leader's high watermark is the offset every ISR member has (real: the
  minimum of the followers' fetch offsets, learned on their next fetch); under
  strict min ISR (KIP-966, Kafka 4.1) it stays put while the ISR is smaller than
  min.insync.replicas;
- after a leader change a follower truncates its log to where it diverges from the
  new leader's (real: KIP-101 leader-epoch truncation; the historic high-watermark
  truncation of B5-B7 is left out);
- the controller is not modelled as a process: elections are atomic steps.
"""

from checker import And, Implies, Not, Or, all_of, any_of, ite, when

from .versions import switches

NO_LEADER = -1  # the partition is offline: no live replica may become leader
EMPTY = -1  # a log cell past the log end


def replicas(s):
    return range(s.params.replicas)


def capacity(p):
    """Entries a log can hold: every append is a first send or a retry of one."""
    return p.messages + p.retries


def at_leader(s, fn):
    """The value fn(r) for r the current leader (fn(0) while the partition is offline)."""
    out = fn(0)
    for r in range(1, s.params.replicas):
        out = ite(s.leader == r, fn(r), out)
    return out


def leader_leo(s):
    return at_leader(s, lambda r: s.leo[r])


def leader_entry(s, i):
    """The message at offset i of the leader's log (i may be a term)."""
    return at_leader(s, lambda r: s.log[r][i])


def holds(s, r, m, below=None, since=0):
    """Replica r's log holds message m at an offset from `since` up to `below` (its log end if None)."""
    end = s.leo[r] if below is None else below
    return any_of(range(capacity(s.params)), lambda i: And(i >= since, i < end, s.log[r][i] == m))


def in_leader_log(s, m, below=None, since=0):
    """The leader's log holds message m (between `since` and `below`: e.g. under the high watermark)."""
    return And(s.leader != NO_LEADER, at_leader(s, lambda r: holds(s, r, m, below, since)))


def is_prefix(s, r, q):
    """Replica r's log is a prefix of replica q's (r may fetch from q without truncating)."""
    return And(s.leo[r] <= s.leo[q],
               all_of(range(capacity(s.params)), lambda i: Implies(i < s.leo[r], s.log[r][i] == s.log[q][i])))


def common_prefix(s, r, q):
    """How many leading entries the logs of r and q share."""
    k = 0
    for i in range(capacity(s.params)):
        k = ite(And(k == i, i < s.leo[r], i < s.leo[q], s.log[r][i] == s.log[q][i]), i + 1, k)
    return k


def leaders_change(p):
    """Leadership can move (the failure mode broker-failure is on)."""
    return "broker-failure" in p.failure_modes


def epoch_start(s):
    """The leader's log end when it was elected: where its leader epoch begins (0 while leadership never moves)."""
    return s.epoch_start if leaders_change(s.params) else 0


def isr_size(s):
    return sum(ite(s.isr[r], 1, 0) for r in replicas(s))


def _smaller(a, b):
    return ite(a < b, a, b)


def advance_hw(s):
    """The leader moves its high watermark up to the offset every ISR member has.

    An ISR follower whose log has diverged from the leader's (it has not truncated
    yet) counts only up to the current watermark: the real leader waits for its fetch
    offset, which it learns after the truncation. Under strict min ISR (KIP-966) the
    leader does not move it while the ISR is smaller than min.insync.replicas
    (Partition.maybeIncrementLeaderHW skips a partition under min ISR).
    """
    strict = isr_size(s) >= s.params.min_isr if switches(s.params)["strict_min_isr"] else True
    for lead in replicas(s):
        new = s.leo[lead]
        for r in replicas(s):
            if r != lead:
                have = ite(is_prefix(s, r, lead), s.leo[r], s.hw)
                new = ite(s.isr[r], _smaller(new, have), new)
        s.hw = ite(And(s.leader == lead, new > s.hw, strict), new, s.hw)


def _push(s, r, m, cond):
    """Replica r writes message m at its log end, where `cond` holds."""
    for i in range(capacity(s.params)):
        s.log[r][i] = ite(And(cond, s.leo[r] == i), m, s.log[r][i])
    s.leo[r] = ite(cond, s.leo[r] + 1, s.leo[r])


def append(s, m, accepted=True):
    """The leader appends message m at its log end (where `accepted` holds); the high watermark may move."""
    when(Implies(accepted, leader_leo(s) < capacity(s.params)))
    for r in replicas(s):
        _push(s, r, m, And(accepted, s.leader == r))
    advance_hw(s)


def truncate(s, r, keep):
    """Replica r keeps the first `keep` entries of its log (cells past the end are emptied)."""
    for i in range(capacity(s.params)):
        s.log[r][i] = ite(i < keep, s.log[r][i], EMPTY)
    s.leo[r] = keep


def Fetch(s, r):
    """Follower r fetches the next record from the leader; caught up to the high watermark, it rejoins the ISR.

    Real Kafka: the follower's fetcher thread sends FetchRequests to the leader and
    appends what it gets; the leader counts it back into the ISR once its log end is
    at or above the leader's high watermark and the start offset of the leader's
    current epoch (Partition.isFollowerInSync, KAFKA-7128: a follower that has only
    the old high watermark must not rejoin and later win an election without the
    records the new leader had), and moves the high watermark with its progress.
    Left out: batches (one record per fetch), replica.lag.time.max.ms timing; the
    follower's fetch offset is taken after this fetch's record (real: the offset of
    the request, one fetch behind).
    """
    when(s.up[r], s.leader != NO_LEADER, s.leader != r)
    behind = s.leo[r] < leader_leo(s)
    when(at_leader(s, lambda q: is_prefix(s, r, q)), Or(behind, Not(s.isr[r])))
    _push(s, r, leader_entry(s, ite(behind, s.leo[r], 0)), behind)
    s.isr[r] = ite(And(s.leo[r] >= s.hw, s.leo[r] >= epoch_start(s)), True, s.isr[r])
    advance_hw(s)


def Truncate(s, r):
    """Follower r drops the suffix of its log that the new leader does not have.

    Real Kafka (KIP-101, KIP-279): after a leader change the follower asks the leader
    for the end offset of its last leader epoch and truncates to where the logs
    diverge; records only it had are gone. Left out: the epoch bookkeeping itself
    (the logs are compared directly).
    """
    when(s.up[r], s.leader != NO_LEADER, s.leader != r)
    when(Not(at_leader(s, lambda q: is_prefix(s, r, q))))
    truncate(s, r, at_leader(s, lambda q: common_prefix(s, r, q)))


def Elect(s, r):
    """The controller makes live replica r the leader: clean from the ISR, or unclean.

    Real Kafka: when the leader dies the controller picks a live ISR member; with
    unclean.leader.election.enable=true (off by default since 0.11) and no live ISR
    member it picks any live replica, and the ISR becomes that replica alone: what
    only the old ISR had is lost (B1). The new leader's epoch begins at its log end.
    With truncation detection (KIP-320, Java consumer 2.3) the consumer, at its next
    fetch, asks the new leader where its epoch ended and moves back to that offset if
    its position (or, on a restart, its committed offset, committed with its epoch) is
    beyond it; the model moves both at the election, as nothing reads in between.
    Left out: preferred-leader elections; the Eligible Leader Replicas set of KIP-966
    (elections from replicas outside the ISR that strict min ISR keeps safe).
    """
    when(s.leader == NO_LEADER, s.up[r])
    clean = s.isr[r]
    if s.params.unclean == "yes":
        when(Or(clean, Not(any_of(replicas(s), lambda q: And(s.isr[q], s.up[q])))))
    else:
        when(clean)
    s.leader = r
    for q in replicas(s):
        s.isr[q] = ite(clean, s.isr[q], q == r)
    s.hw = _smaller(s.hw, s.leo[r])
    s.epoch_start = s.leo[r]
    if switches(s.params)["truncation_detection"]:
        s.position = _smaller(s.position, s.leo[r])
        s.committed = _smaller(s.committed, s.leo[r])
    advance_hw(s)


def RestartBroker(s, r):
    """A failed broker comes back with its log; it follows the leader (or waits to be elected).

    Real Kafka: the broker restarts, its replica rejoins as a follower, truncates
    where needed and fetches until it is back in the ISR. Restarting heals, so it is
    not budgeted. Left out: a lost disk (the log survives the restart).
    """
    when(Not(s.up[r]))
    s.up[r] = True


# How each replica is drawn in trace tables.
def describe_log(s, r):
    entries = ",".join(f"m{s.log[r][i]}" for i in range(s.leo[r]))
    role = "leader" if s.leader == r else "down" if not s.up[r] else "follower"
    return f"r{r} {role}{' ISR' if s.isr[r] else ''} [{entries}]"
