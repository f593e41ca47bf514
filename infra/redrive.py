"""Moves the messages of a dead-letter queue back to their source queue (run it as infra/redrive.sh).

Receive, send, delete: each message is sent to the source queue (body, message attributes and its
X-Ray trace header unchanged) and deleted from the dead-letter queue only once that send has
succeeded. SQS's native redrive (StartMessageMoveTask) would do the same on AWS, but moto, the local
emulator, does not implement it; this works the same against both.
"""

import argparse
import os
import re
import sys

DESCRIPTION = """\
Moves the messages of a dead-letter queue back to the queue they came from: each one is sent to
the source queue with its body and message attributes unchanged, and deleted from the DLQ only
after that send succeeded. Stops when the DLQ is empty or after --max messages. Safe to re-run:
a run that is interrupted leaves every message in the DLQ or in the source queue (at worst in
both, if it stopped between a send and its delete; a redriven payment event is applied once
however often it arrives, so that duplicate is harmless).

Fix the cause of the failures first (logs, alarms): a message that fails again goes back to the
DLQ after the source queue's maxReceiveCount receives.
"""

EPILOG = """\
DLQ is a queue URL, a queue name, or (with --stack) a logical id of template.yaml whose URL is
the stack output <id>Url, e.g. PaymentsDLQ -> PaymentsDLQUrl. The source queue is, unless --to
names one, the single queue whose redrive policy targets the DLQ (ListDeadLetterSourceQueues).
NotificationsDLQ has no source queue: EventBridge and Lambda's on-failure destination write to
it directly.

examples:
  infra/redrive.sh --stack boxoffice-dev PaymentsDLQ
  infra/redrive.sh --stack boxoffice-prod PaymentsDLQ --max 10     # a few first, then the rest
  infra/redrive.sh --dry-run https://sqs.us-east-1.amazonaws.com/123456789012/boxoffice-dev-PaymentsDLQ-ABC
  AWS_ENDPOINT_URL_SQS=http://127.0.0.1:PORT infra/redrive.sh PREFIX-PaymentsDLQ     # moto

AWS access: the usual credential chain (AWS_PROFILE, ...); the region from --region, else
AWS_REGION or AWS_DEFAULT_REGION or the profile's, else that of an sqs.<region>.amazonaws.com
URL; AWS_ENDPOINT_URL_SQS for an emulator (moto; AWS_ENDPOINT_URL_CLOUDFORMATION likewise).
Permissions:
sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes, sqs:ListDeadLetterSourceQueues on
the DLQ, sqs:SendMessage on the source queue, cloudformation:DescribeStacks with --stack.

exit status: 0 all moved (or nothing to move), 1 a failure (what moved stays moved), 2 usage.
"""


def log(msg):
    print(f"[redrive] {msg}", file=sys.stderr, flush=True)


class Fail(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="infra/redrive.sh",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dlq", metavar="DLQ", help="the dead-letter queue (URL, name, or logical id with --stack)")
    p.add_argument("--stack", metavar="NAME", help="CloudFormation stack whose outputs give the queue URLs")
    p.add_argument("--to", metavar="QUEUE", help="the queue to move the messages to (URL, name, or logical id with --stack)")
    p.add_argument("--max", type=int, default=1000, metavar="N", help="move at most N messages (default 1000)")
    p.add_argument(
        "--visibility-timeout",
        type=int,
        default=60,
        metavar="S",
        help="seconds a received message stays hidden in the DLQ while it is moved (default 60)",
    )
    p.add_argument(
        "--wait",
        type=int,
        default=2,
        metavar="S",
        help="long-poll seconds of each receive; the first empty one ends the run (default 2)",
    )
    p.add_argument("--region", help="AWS region (default: the environment's, or the queue URL's)")
    p.add_argument("--dry-run", action="store_true", help="show the queues and the DLQ's depth; move nothing")
    args = p.parse_args(argv)
    if args.max < 1:
        p.error("--max must be at least 1")
    if not 0 <= args.wait <= 20:
        p.error("--wait must be between 0 and 20")
    if not 1 <= args.visibility_timeout <= 43200:
        p.error("--visibility-timeout must be between 1 and 43200")
    return args


def region_of(url):
    m = re.match(r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/", url or "")
    return m.group(1) if m else None


class Queues:
    """Resolves the DLQ and source-queue arguments to URLs."""

    def __init__(self, session, sqs, stack):
        self.session, self.sqs, self.stack = session, sqs, stack
        self._outputs = None

    def outputs(self):
        if self._outputs is None:
            cfn = self.session.client("cloudformation")
            stacks = cfn.describe_stacks(StackName=self.stack)["Stacks"]
            self._outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        return self._outputs

    def url(self, name):
        if name.startswith(("http://", "https://")):
            return name
        if self.stack:
            out = self.outputs()
            if f"{name}Url" in out:
                return out[f"{name}Url"]
            urls = sorted(k for k in out if k.endswith("Url"))
            raise Fail(f"stack {self.stack} has no output {name}Url (queue outputs: {', '.join(urls) or 'none'})")
        return self.sqs.get_queue_url(QueueName=name)["QueueUrl"]

    def source_of(self, dlq_url):
        sources = []
        for page in self.sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=dlq_url):
            sources += page.get("queueUrls", [])
        if len(sources) == 1:
            return sources[0]
        if not sources:
            raise Fail(
                "no queue dead-letters into this queue, so there is no source queue to move its "
                "messages back to (NotificationsDLQ is written by EventBridge and Lambda directly); "
                "--to names a destination explicitly"
            )
        raise Fail(f"several queues dead-letter into this queue, name one with --to: {', '.join(sources)}")


def depth(sqs, url):
    a = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(a.get("ApproximateNumberOfMessages", 0)), int(a.get("ApproximateNumberOfMessagesNotVisible", 0))


def message_attributes(m):
    """The message attributes as SendMessage takes them (only the fields SQS supports)."""
    out = {}
    for name, a in (m.get("MessageAttributes") or {}).items():
        value = {"DataType": a["DataType"]}
        for key in ("StringValue", "BinaryValue"):
            if a.get(key) is not None:
                value[key] = a[key]
        out[name] = value
    return out


def send_request(m, dest):
    req = {"QueueUrl": dest, "MessageBody": m["Body"]}
    attrs = message_attributes(m)
    if attrs:
        req["MessageAttributes"] = attrs
    system = m.get("Attributes") or {}
    if system.get("AWSTraceHeader"):
        req["MessageSystemAttributes"] = {
            "AWSTraceHeader": {"DataType": "String", "StringValue": system["AWSTraceHeader"]}
        }
    if dest.endswith(".fifo"):
        req["MessageGroupId"] = system.get("MessageGroupId") or "redrive"
        req["MessageDeduplicationId"] = system.get("MessageDeduplicationId") or m["MessageId"]
    return req


def redrive(sqs, dlq, dest, args):
    moved = 0
    undeleted = {}  # DLQ MessageId -> why: sent, but its delete failed
    sent_ids = set()
    while moved < args.max:
        msgs = sqs.receive_message(
            QueueUrl=dlq,
            MaxNumberOfMessages=min(10, args.max - moved),
            WaitTimeSeconds=args.wait,
            VisibilityTimeout=args.visibility_timeout,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not msgs:
            break
        for i, m in enumerate(msgs):
            if m["MessageId"] not in sent_ids:
                if moved >= args.max:
                    release(sqs, dlq, msgs[i:])
                    break
                try:
                    sqs.send_message(**send_request(m, dest))
                except Exception as e:  # noqa: BLE001 (any failure stops the run)
                    release(sqs, dlq, msgs[i:])
                    raise Fail(f"sending message {m['MessageId']} failed after {moved} moved: {e}") from e
                sent_ids.add(m["MessageId"])
                moved += 1
            # Received again after a failed delete: it was sent already, only the delete is due.
            try:
                sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
                undeleted.pop(m["MessageId"], None)
            except Exception as e:  # noqa: BLE001
                undeleted[m["MessageId"]] = str(e)
                log(f"message {m['MessageId']} was sent but not deleted from the DLQ: {e}")
        log(f"moved {moved}")
    return moved, undeleted


def release(sqs, dlq, msgs):
    """Makes received but unsent messages visible in the DLQ again at once (best effort)."""
    for m in msgs:
        try:
            sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        except Exception:  # noqa: BLE001, S110 (they reappear after the visibility timeout anyway)
            pass


def main(argv):
    args = parse_args(argv)
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        log("needs boto3: run `make tools` (it installs moto and boto3 into .local/venv), or set REDRIVE_PYTHON")
        return 2
    # boto3 reads AWS_DEFAULT_REGION and the profile but not AWS_REGION (the Rust SDK's).
    region = args.region or os.environ.get("AWS_REGION") or None
    session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
    if not session.region_name and region_of(args.dlq):
        session = boto3.session.Session(region_name=region_of(args.dlq))
    if not session.region_name:
        log("no AWS region: set AWS_REGION or pass --region")
        return 2
    sqs = session.client("sqs", config=Config(retries={"mode": "standard", "max_attempts": 5}))
    try:
        queues = Queues(session, sqs, args.stack)
        dlq = queues.url(args.dlq)
        dest = queues.url(args.to) if args.to else queues.source_of(dlq)
        if dest.rstrip("/") == dlq.rstrip("/"):
            raise Fail("the source queue is the DLQ itself")
        visible, in_flight = depth(sqs, dlq)
        log(f"from {dlq} ({visible} visible, {in_flight} in flight)")
        log(f"  to {dest}")
        if args.dry_run:
            log(f"dry run: would move up to {min(visible, args.max)} message(s)")
            return 0
        moved, undeleted = redrive(sqs, dlq, dest, args)
        visible, in_flight = depth(sqs, dlq)
        print(f"moved {moved} message(s); the DLQ now has {visible} visible, {in_flight} in flight")
        if undeleted:
            log(
                f"{len(undeleted)} message(s) were sent but could not be deleted from the DLQ: they "
                "reappear there after the visibility timeout, and a re-run sends them once more"
            )
            return 1
        if moved >= args.max and visible:
            log(f"stopped at --max {args.max}; run again for the rest")
        return 0
    except Fail as e:
        log(str(e))
        return 1
    except Exception as e:  # noqa: BLE001 (AWS errors: a clear line, no traceback)
        log(f"{type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
