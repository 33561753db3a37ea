// k6 load test for the shipshape app, used for the managed-cluster capacity baseline
// (docs/operations.md#capacity-baseline-policy). Run against the real ingress:
//
//   k6 run -e BASE_URL=https://shipshape.example.com hack/load-test-k6.js
//
// Thresholds mirror the acceptance criteria in docs/operations-artifacts/capacity-baselines.md.
import http from 'k6/http';
import { check } from 'k6';
import { Rate } from 'k6/metrics';

const BASE_URL = __ENV.BASE_URL || 'http://localhost:8080';
const TARGET_RPS = parseInt(__ENV.TARGET_RPS || '200', 10);
const HOLD = __ENV.HOLD || '10m';

const contractErrors = new Rate('contract_errors');

export const options = {
  scenarios: {
    baseline: {
      executor: 'ramping-arrival-rate',
      startRate: 10,
      timeUnit: '1s',
      preAllocatedVUs: 50,
      maxVUs: 400,
      stages: [
        { target: TARGET_RPS, duration: '2m' },
        { target: TARGET_RPS, duration: HOLD },
        { target: 0, duration: '1m' },
      ],
    },
  },
  thresholds: {
    'http_req_duration{endpoint:index}': ['p(95)<250'],
    http_req_failed: ['rate<0.005'],
    contract_errors: ['rate<0.001'],
  },
};

export default function () {
  const res = http.get(`${BASE_URL}/`, { tags: { endpoint: 'index' } });
  const ok = check(res, {
    'status is 200': (r) => r.status === 200,
    'body has message and version': (r) => {
      try {
        const body = r.json();
        return typeof body.message === 'string' && typeof body.version === 'string';
      } catch (e) {
        return false;
      }
    },
    'request id returned': (r) => Boolean(r.headers['X-Request-Id']),
  });
  contractErrors.add(!ok);
}

export function handleSummary(data) {
  return {
    stdout: JSON.stringify({
      rps: data.metrics.http_reqs.values.rate,
      p95_ms: data.metrics['http_req_duration{endpoint:index}']
        ? data.metrics['http_req_duration{endpoint:index}'].values['p(95)']
        : data.metrics.http_req_duration.values['p(95)'],
      error_rate: data.metrics.http_req_failed.values.rate,
    }, null, 2) + '\n',
    'k6-summary.json': JSON.stringify(data, null, 2),
  };
}
