/**
 * AWS cost model per million relayed messages, from the counted figures of the run.
 * List prices, us-east-1, on-demand, no free tier, no Savings Plans.
 */

export const PRICES = {
  region: 'us-east-1',
  checkedOn: '2026-11-25',
  apiGateway: {
    websocketMessagesPerMillion: 1.0,
    connectionMinutesPerMillion: 0.25,
    messageBillingIncrementBytes: 32 * 1024,
    note: 'WebSocket APIs: $1.00 per million messages (first 1 billion a month; $0.80 above), $0.25 per million connection minutes; messages are metered in 32 KB increments.',
  },
  lambda: {
    requestsPerMillion: 0.2,
    arm64PerGbSecond: 0.0000133334,
    billingGranularityMs: 1,
    note: 'arm64: $0.20 per million requests, $0.0000133334 per GB-second (first 7.5 billion GB-s a month), billed per 1 ms.',
  },
  dynamodb: {
    writeRequestUnitsPerMillion: 0.625,
    readRequestUnitsPerMillion: 0.125,
    note: 'On-demand (prices since the November 2024 cut): $0.625 per million WRU, $0.125 per million RRU. 1 WRU = a write of up to 1 KB; 1 RRU = a strongly consistent read of up to 4 KB, or two eventually consistent ones (0.5 RRU each); a read request of 0 items is still charged its minimum.',
  },
  sources: [
    'https://aws.amazon.com/api-gateway/pricing/ (figures as restated by https://amnic.com/blogs/aws-api-gateway-pricing and https://awsforengineers.com/blog/aws-api-gateway-pricing-explained, May 2025)',
    'https://aws.amazon.com/lambda/pricing/ (arm64 figures as restated by https://cloudchipr.com/blog/aws-lambda-pricing)',
    'https://aws.amazon.com/dynamodb/pricing/on-demand/ (figures as restated by https://airbyte.com/data-engineering-resources/dynamodb-pricing, July 2025)',
  ],
  verification:
    'The AWS pricing pages cannot be fetched from the bench machine; the figures were checked on the date above against the secondary sources listed, which agree with each other. Re-check before quoting a bill.',
};

const KB = 1024;

/** Capacity units of one DynamoDB request, by DynamoDB's documented rules. */
export function requestUnits(op, { itemBytes = 0, itemsRead = 1, consistent = false, gsiWrites = 0 }) {
  switch (op) {
    case 'PutItem':
    case 'UpdateItem':
    case 'DeleteItem': {
      const wru = Math.max(1, Math.ceil(itemBytes / KB));
      return { wru: wru * (1 + gsiWrites), rru: 0 };
    }
    case 'GetItem':
    case 'Query': {
      const blocks = Math.max(1, Math.ceil((itemBytes * itemsRead) / (4 * KB)));
      return { wru: 0, rru: blocks * (consistent ? 1 : 0.5) };
    }
    default:
      return { wru: 0, rru: 0 };
  }
}

/**
 * perMessage: {
 *   lambdaInvocations, handlerBilledMs (per invocation), apiGatewayMessages (in + out, each under 32 KB),
 *   dynamodb: [{ label, op, count, itemBytes, itemsRead, consistent, gsiWrites }]
 * }
 */
export function costPerMillion({ perMessage, memoryMb }) {
  const m = 1_000_000;
  const apiMessages = perMessage.apiGatewayMessages * m;
  const apiCost = (apiMessages / m) * PRICES.apiGateway.websocketMessagesPerMillion;
  const invocations = perMessage.lambdaInvocations * m;
  const gbSeconds = invocations * (memoryMb / 1024) * (perMessage.handlerBilledMs / 1000);
  const lambdaRequestCost = (invocations / m) * PRICES.lambda.requestsPerMillion;
  const lambdaDurationCost = gbSeconds * PRICES.lambda.arm64PerGbSecond;
  let wru = 0;
  let rru = 0;
  const dynamodbLines = [];
  for (const line of perMessage.dynamodb) {
    const units = requestUnits(line.op, line);
    wru += units.wru * line.count * m;
    rru += units.rru * line.count * m;
    dynamodbLines.push({ ...line, wruEach: units.wru, rruEach: units.rru });
  }
  const ddbWriteCost = (wru / m) * PRICES.dynamodb.writeRequestUnitsPerMillion;
  const ddbReadCost = (rru / m) * PRICES.dynamodb.readRequestUnitsPerMillion;
  const total = apiCost + lambdaRequestCost + lambdaDurationCost + ddbWriteCost + ddbReadCost;
  const r = (x) => Math.round(x * 10000) / 10000;
  return {
    memoryMb,
    handlerBilledMs: perMessage.handlerBilledMs,
    lines: [
      { item: 'API Gateway WebSocket messages', quantity: apiMessages, unit: 'messages', usd: r(apiCost) },
      { item: 'Lambda requests', quantity: invocations, unit: 'requests', usd: r(lambdaRequestCost) },
      {
        item: `Lambda duration (arm64, ${memoryMb} MB)`,
        quantity: Math.round(gbSeconds),
        unit: 'GB-s',
        usd: r(lambdaDurationCost),
      },
      { item: 'DynamoDB writes (on-demand)', quantity: wru, unit: 'WRU', usd: r(ddbWriteCost) },
      { item: 'DynamoDB reads (on-demand)', quantity: rru, unit: 'RRU', usd: r(ddbReadCost) },
    ],
    dynamodb: dynamodbLines,
    totalUsd: r(total),
  };
}

/** Connection minutes are billed whether messages flow or not: the cost of holding connections. */
export function connectionCost(connections, minutes) {
  const usd = ((connections * minutes) / 1_000_000) * PRICES.apiGateway.connectionMinutesPerMillion;
  return Math.round(usd * 10000) / 10000;
}
