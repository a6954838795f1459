/** A user account as the application sees it (booleans and Dates, not ClickHouse's UInt8 and seconds). */
export interface User {
  id: string;
  email: string;
  username: string;
  passwordHash: string;
  isActive: boolean;
  isAdmin: boolean;
  /** The original service's plan name ('free', 'pro', 'admin'); 'free' unless an operator set another. */
  subscriptionTier: string;
  createdAt: Date;
  /** The version of this row: a change is saved as a new row with a later updated_at. */
  updatedAt: Date;
}
