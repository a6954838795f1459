/** A user account as the application sees it (booleans and Dates, not ClickHouse's UInt8 and text). */
export interface User {
  id: string;
  email: string;
  username: string;
  passwordHash: string;
  isActive: boolean;
  isAdmin: boolean;
  createdAt: Date;
  updatedAt: Date;
}
