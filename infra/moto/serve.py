"""moto_server, as `moto_server -H HOST -p PORT` runs it, with two fixes to moto's cost model.

1. moto 5.2.1's ReceiveMessage checks each message it hands out against the queue's retention
   period by computing *every* queue attribute (`get_queue_attributes(["MessageRetentionPeriod"])`
   builds `queue.attributes` three times, and each build walks all of the queue's messages three
   times for the approximate counts): ~90 n clock reads per receive of 10 from a queue holding n,
   under the GIL. With 200 waiting payments that is 169 ms of moto's CPU per receive (8 ms with
   the fix; measured with boto3 against a lone moto_server, CPU from /proc). Real SQS has no such
   cost, and locally it fed back on itself: a backlog made every receive dearer, which slowed
   every other request moto serves (the webhook's SendMessage, confirm-payment's PutEvents), which
   grew the backlog. The replacement reads the one attribute it needs: the same rule (a message
   older than the queue's MessageRetentionPeriod is not delivered), O(1).
2. A cache of compiled JSONPath expressions (below).

Nothing else changes: the server is moto's own `moto.server.main`, threaded as always. Any other
moto version is refused, so that a pin bump is re-checked rather than silently patched.
"""

import functools
import sys

import jsonpath_ng.ext
import moto
from moto.core.utils import unix_time
from moto.sqs.models import SQSBackend

if moto.__version__ != "5.2.1":
    sys.exit(f"infra/moto/serve.py patches moto 5.2.1, not {moto.__version__}: re-check the patch")


def is_message_valid_based_on_retention_period(self, queue_name, message):
    retention_period = int(self.get_queue(queue_name).message_retention_period)
    return retention_period + message.sent_timestamp / 1000 > unix_time()


SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period

# Every event a rule delivers to an SQS target goes through moto's input-template parser, which
# compiles each of its default input paths with jsonpath_ng (a yacc parser built per call): ~8 ms
# of moto's CPU per PutEvents entry, under the GIL that every SQS request waits on. A compiled
# path is an immutable expression, so the compilations are kept (the same few paths every time).
jsonpath_ng.ext.parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)

if __name__ == "__main__":
    from moto.server import main

    sys.argv[0] = "moto_server"
    main()
