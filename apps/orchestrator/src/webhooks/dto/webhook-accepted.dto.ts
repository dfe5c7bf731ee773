/** The documented 200 body of `POST /api/v1/webhooks/github`. */
export interface WebhookAcceptedDto {
  status: 'accepted';
  delivery_id: string;
  event_type: string;
  /** What the routing decided: queued (with task ids), ignored (with a reason), pong, processed. */
  result: Record<string, unknown>;
}
